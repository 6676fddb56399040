-- Refresh-token rotation under load (scripts/bench.sh): every thread keeps
-- a pool of live refresh tokens (one file per thread, minted by seed.py);
-- each request spends one and its response puts the rotated one back, so
-- every request is a real rotation (and, with `openid` in scope, a newly
-- signed id_token).
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

local pool = {}
local basic, dir
function init(args)
  dir, basic = args[1], args[2]
  for line in io.lines(dir .. "/tokens_" .. id) do
    table.insert(pool, line)
  end
end

function request()
  local t = table.remove(pool)
  if t == nil then t = "pool-empty" end
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = "Basic " .. basic,
  }, "grant_type=refresh_token&refresh_token=" .. t)
end

function response(status, headers, body)
  local t = body:match('"refresh_token":"([^"]+)"')
  if t then table.insert(pool, t) end
end
