-- Several accounts: the same functions under each account's name.
-- Needs a config with accounts `default` and `work`, e.g. against the simulator:
--   twilio-host sim            (in another terminal; paste the two `export` lines it prints)
--   twilio-host examples multi-account.toml > multi-account.toml
--   twilio-host run --config multi-account.toml --example multi_account
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

-- Which accounts exist: accounts() lists them, has_account() checks one without raising.
print("accounts: " .. table.concat(twilio.accounts(), ", "))
print("personal account: " .. (twilio.has_account("personal") and "configured" or "not configured"))

-- Reaching an account that is not configured raises a validation error (a misspelt name never
-- skips a send silently), which pcall catches.
local ok, err = pcall(function()
    return twilio.personal.twilio_get_account({})
end)
print("twilio.personal: " .. (ok and "reached" or ("raised a " .. err.kind .. " error")))

return { default = default.sid, work = work.sid, work_message_account = sent.account_sid }
