-- Phone numbers and Lookup: list the account's numbers, fetch one, and look up a number's
-- carrier and caller name. Run: twilio-host run --example numbers_and_lookup
local twilio = app.integrations.twilio

local numbers = twilio.twilio_list_phone_numbers({ limit = 10 })
print("Numbers on the account: " .. #numbers.phone_numbers)
for _, pn in ipairs(numbers.phone_numbers) do
    print("  " .. pn.phone_number .. "  " .. pn.friendly_name .. "  (" .. pn.sid .. ")")
end

local first = twilio.twilio_get_phone_number({ phone_sid = numbers.phone_numbers[1].sid })
print("First number: " .. first.phone_number .. ", SMS capable: " .. tostring(first.capabilities.sms))

local info = twilio.twilio_lookup_phone({
    phone_number = "+15551234567",
    fields = "line_type_intelligence,caller_name",
})
print("Lookup " .. info.phone_number .. ": valid=" .. tostring(info.valid) .. ", country=" .. info.country_code)
print("Line type: " .. info.line_type_intelligence.type .. ", carrier: " .. info.line_type_intelligence.carrier_name)

return { numbers = #numbers.phone_numbers, line_type = info.line_type_intelligence.type }
