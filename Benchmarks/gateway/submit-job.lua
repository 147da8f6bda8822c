-- wrk script: POST /api/v1/jobs with a distinct idempotency key per request, so every
-- accepted request is a new job committed by the cluster.
local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("thread_id", next_id)
  table.insert(threads, thread)
end

local counter = 0
local run = tostring(os.time())

request = function()
  counter = counter + 1
  local body = string.format(
    '{"circuit_id":"merkle-mimc-d2","inputs":{"leaves":["0x01","0x02","0x03","0x%02x"],"leaf_index":%d},' ..
    '"idempotency_key":"bench-%s-%d-%d"}',
    counter % 250 + 4, counter % 4, run, thread_id, counter)
  return wrk.format("POST", "/api/v1/jobs", {["Content-Type"] = "application/json"}, body)
end
