-- Authenticated GET for benchmarks/simulators.py: one object by id with a bearer
-- token. Environment: WRK_TOKEN (optional). The URL given to wrk names the object.

local token = os.getenv("WRK_TOKEN")

function init(args)
  if token and token ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. token
  end
end
