-- Cold introspection (scripts/bench_scale.sh): every request asks about
-- the next of the seeded live tokens whose text is known
-- (bench/scale/known_tokens.py), so it misses the server's 10 s
-- access-token cache and reads the row from the database, until the walk
-- wraps around (fewer known tokens than requests; the script reports the
-- cache hits it then gets from /metrics).
--   wrk -t T ... -s introspect_walk.lua URL -- TOKENS_FILE BASIC T
-- Thread k takes lines k+1, k+1+T, k+1+2T, ... so the threads never ask
-- about the same token.
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

local tokens = {}
local headers
local next_token = 0
function init(args)
  local file, basic, step = args[1], args[2], tonumber(args[3])
  local n = 0
  for line in io.lines(file) do
    if n % step == id then table.insert(tokens, line) end
    n = n + 1
  end
  headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = "Basic " .. basic,
  }
end

function request()
  next_token = next_token % #tokens + 1
  return wrk.format("POST", nil, headers, "token=" .. tokens[next_token])
end
