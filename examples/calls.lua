-- Voice calls: place a call with inline TwiML, fetch it, and list completed calls.
-- Run: twilio-host run --example calls
local twilio = app.integrations.twilio

local call = twilio.twilio_make_call({
    to = "+15551234567",
    from = "+15559876543",
    twiml = "<Response><Say>Your verification code is 4 2 7 1.</Say></Response>",
})
print("Call placed: " .. call.sid .. " (" .. call.status .. ")")

local fetched = twilio.twilio_get_call({ call_sid = call.sid })
print("Call status now: " .. fetched.status)

local completed = twilio.twilio_list_calls({ status = "completed", limit = 5 })
print("Completed calls: " .. #completed.calls)
for _, c in ipairs(completed.calls) do
    print("  " .. c.sid .. "  " .. c.status .. "  " .. (c.duration or "0") .. "s")
end

return { call = call.sid, completed = #completed.calls }
