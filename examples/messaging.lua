-- Messaging: send an SMS and an MMS, read one back, and list recent messages.
-- Run: twilio-host run --example messaging
local twilio = app.integrations.twilio
local FROM = "+15559876543" -- a number on the account (the simulator's main line)

local sms = twilio.twilio_send_sms({
    to = "+15551234567",
    from = FROM,
    body = "Your order #1042 has shipped.",
})
print("SMS sent: " .. sms.sid .. " (" .. sms.status .. ")")

local mms = twilio.twilio_send_sms({
    to = "+15551234567",
    from = FROM,
    body = "Here is your receipt.",
    media_url = "https://example.com/receipt.png",
})
print("MMS sent: " .. mms.sid .. " with " .. tostring(mms.num_media) .. " media item(s)")

local fetched = twilio.twilio_get_message({ message_sid = sms.sid })
print("Read back: " .. fetched.body)

local recent = twilio.twilio_list_messages({ to = "+15551234567", limit = 5 })
print("Recent messages to +15551234567: " .. #recent.messages)
for _, message in ipairs(recent.messages) do
    print("  " .. message.sid .. "  " .. message.status .. "  " .. message.body)
end

return { sms = sms.sid, mms = mms.sid, listed = #recent.messages }
