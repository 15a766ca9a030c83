-- Account and recordings: show the account, list recent recordings, and delete the oldest one
-- listed. Run: twilio-host run --example account_and_recordings
local twilio = app.integrations.twilio

local account = twilio.twilio_get_account({})
print("Account: " .. account.friendly_name .. " (" .. account.status .. ", " .. account.type .. ")")
-- The host removes the account's auth_token from the response: the script never sees it.
print("auth_token visible to the script: " .. tostring(account.auth_token ~= nil))

local recordings = twilio.twilio_list_recordings({ limit = 5 })
print("Recordings: " .. #recordings.recordings)
for _, rec in ipairs(recordings.recordings) do
    print("  " .. rec.sid .. "  " .. rec.duration .. "s  " .. rec.status .. "  call " .. rec.call_sid)
end

local oldest = recordings.recordings[#recordings.recordings]
local deleted = twilio.twilio_delete_recording({ recording_sid = oldest.sid })
print("Deleted " .. oldest.sid .. ": " .. tostring(deleted.deleted))

return { account = account.sid, recordings = #recordings.recordings, deleted = oldest.sid }
