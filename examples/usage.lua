-- Usage: read January's SMS usage and create a monthly spending alert.
-- Run: twilio-host run --example usage
local twilio = app.integrations.twilio

local records = twilio.twilio_list_usage_records({
    category = "sms",
    start_date = "2026-01-01",
    end_date = "2026-01-31",
})
print("SMS usage records: " .. #records.usage_records)
for _, record in ipairs(records.usage_records) do
    print("  " .. record.category .. ": " .. record.count .. " (" .. record.price .. " " .. record.price_unit .. ")")
end

local trigger = twilio.twilio_create_usage_trigger({
    usage_category = "totalprice",
    trigger_value = "50.00",
    callback_url = "https://example.com/twilio/usage-alert",
    recurring = "monthly",
})
print("Usage trigger: " .. trigger.sid .. " fires at " .. trigger.trigger_value .. " (now " .. trigger.current_value .. ")")

return { records = #records.usage_records, trigger = trigger.sid }
