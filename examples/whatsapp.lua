-- WhatsApp: send a text and a media message. Numbers are plain E.164; the "whatsapp:" prefix
-- is added for you. Run: twilio-host run --example whatsapp
local twilio = app.integrations.twilio
local FROM = "+15559876543" -- a WhatsApp-enabled sender on the account

local text = twilio.twilio_send_whatsapp({
    to = "+15551234567",
    from = FROM,
    body = "Your appointment is confirmed for 10:00 tomorrow.",
})
print("WhatsApp message: " .. text.sid .. " (" .. text.status .. ")")
print("Sent to: " .. text.to)

local media = twilio.twilio_send_whatsapp({
    to = "+15551234567",
    from = FROM,
    body = "Directions to the clinic",
    media_url = "https://example.com/map.png",
})
print("WhatsApp media message: " .. media.sid)

return { text = text.sid, media = media.sid, to = text.to }
