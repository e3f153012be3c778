-- Idempotent create for benchmarks/simulators.py: POST /accounts with a unique
-- Idempotency-Key (and external_id) on every request, so none is a replay.
--
-- Environment: WRK_TOKEN (bearer token, optional), WRK_KEY_PREFIX (unique per
-- wrk run: keys must not repeat across the warm-up and the measured runs),
-- WRK_PATH (default /accounts).

local token = os.getenv("WRK_TOKEN")
local prefix = os.getenv("WRK_KEY_PREFIX") or "bench"
local path = os.getenv("WRK_PATH") or "/accounts"

local threads_made = 0

function setup(thread)
  threads_made = threads_made + 1
  thread:set("tid", threads_made)
end

local counter = 0

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  if token and token ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. token
  end
end

function request()
  counter = counter + 1
  local key = string.format("%s-%d-%d", prefix, tid or 0, counter)
  wrk.headers["Idempotency-Key"] = key
  local body = string.format(
    '{"name":"Bench account %d","external_id":"%s","segment":"mid_market",' ..
    '"region":"emea","country":"DE","currency":"EUR","industry":"Manufacturing"}',
    counter, key)
  return wrk.format("POST", path, nil, body)
end
