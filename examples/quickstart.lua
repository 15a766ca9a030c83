-- Send a text message and read it back. Without credentials this runs against the built-in
-- simulator; with TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN set it uses your real account.
local twilio = app.integrations.twilio

local sent = twilio.twilio_send_sms({
    to = "+15551234567",
    from = "+15559876543",
    body = "Hello from a sandboxed Lua script!",
})
print("Message SID: " .. sent.sid)
print("Status: " .. sent.status)

local fetched = twilio.twilio_get_message({ message_sid = sent.sid })
print("Read back: " .. fetched.body)
return { sid = sent.sid, status = fetched.status }
