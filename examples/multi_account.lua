-- Several accounts: the same functions under each account's name.
-- Needs a config with accounts `default` and `work`, e.g. against the simulator:
--   twilio-host sim            (in another terminal; paste the two `export` lines it prints)
--   twilio-host run --config examples/multi-account.toml examples/multi_account.lua
local twilio = app.integrations.twilio

local default = twilio.twilio_get_account({})           -- the default account
local explicit = twilio.default.twilio_get_account({})  -- the same, named explicitly
local work = twilio.work.twilio_get_account({})         -- the `work` account
print("default account: " .. default.friendly_name .. " (" .. default.sid .. ")")
print("work account:    " .. work.friendly_name .. " (" .. work.sid .. ")")
print("default and twilio.default are the same account: " .. tostring(default.sid == explicit.sid))

local sent = twilio.work.twilio_send_sms({
    to = "+15551234567",
    from = "+15559876543",
    body = "Sent from the work account",
})
print("work SMS: " .. sent.sid .. " on account " .. sent.account_sid)

-- Naming an account that is not configured is a validation error, which pcall catches.
local ok, err = pcall(function()
    return twilio.personal.twilio_get_account({})
end)
print("personal account: " .. (ok and "configured" or ("not configured (" .. err.kind .. ")")))

return { default = default.sid, work = work.sid, work_message_account = sent.account_sid }
