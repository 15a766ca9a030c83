-- Error handling: every failure is a table with `kind` (validation, twilio, denied, timeout,
-- transport, limit, response) and a readable tostring(). Catch them with pcall.
-- Run: twilio-host run --example error_handling
local twilio = app.integrations.twilio

-- 1. Validation: bad arguments are refused before anything is sent.
local ok, invalid = pcall(twilio.twilio_send_sms, {
    to = "555-1234", -- not E.164
    from = "+15559876543",
    body = "hi",
})
print("validation: ok=" .. tostring(ok) .. " kind=" .. invalid.kind .. " field=" .. tostring(invalid.field))
print("  " .. tostring(invalid))

-- 2. Twilio: the request was sent and Twilio answered with an error (here 20404, not found).
local found, missing = pcall(twilio.twilio_get_message, { message_sid = "SM00000000000000000000000000000000" })
print("twilio: ok=" .. tostring(found) .. " kind=" .. missing.kind .. " status=" .. tostring(missing.status) .. " code=" .. tostring(missing.code))
print("  " .. tostring(missing))

-- 3. Decide by kind: retry later, fix the input, or give up.
local function send_or_explain(args)
    local sent_ok, result = pcall(twilio.twilio_send_sms, args)
    if sent_ok then
        return "sent " .. result.sid
    elseif result.kind == "validation" then
        return "fix the input: " .. result.message
    elseif result.kind == "twilio" then
        return "Twilio refused it (code " .. tostring(result.code) .. ")"
    else
        return "try again later (" .. result.kind .. ")"
    end
end
print("good number: " .. send_or_explain({ to = "+15551234567", from = "+15559876543", body = "hi" }))
print("bad number:  " .. send_or_explain({ to = "12345", from = "+15559876543", body = "hi" }))

-- 4. An error that is not caught ends the script: `twilio-host run` exits with status 1 and
-- prints the message, the Twilio code and the traceback. Uncomment to see it:
-- twilio.twilio_get_call({ call_sid = "CA00000000000000000000000000000000" })

return {
    validation = { kind = invalid.kind, field = invalid.field },
    twilio = { kind = missing.kind, status = missing.status, code = missing.code },
}
