-- Sallyport rate limits: claim up to N calls from every GCRA bucket and the tenant's daily
-- quota, all or nothing, in one atomic step. Times are microseconds of the Redis clock, so
-- every gateway process shares one time base.
--
-- KEYS[1..n]   bucket keys (value: theoretical arrival time, TAT)
-- KEYS[n+1]    today's quota counter, when ARGV[3+2n] >= 0
-- ARGV[1]      most calls to claim (>= 1)
-- ARGV[2]      n, the number of buckets
-- ARGV[1+2i]   bucket i: emission interval (us)       ARGV[2+2i]  bucket i: burst
-- ARGV[3+2n]   daily quota (-1: none)                 ARGV[4+2n]  quota retry (us)
--
-- Returns {granted, refused, retry_us}: granted >= 1 when allowed; otherwise refused is the
-- 1-based index of the refusing bucket (n+1: the quota) with the longest wait.
local call, tonumber, floor, format = redis.call, tonumber, math.floor, string.format
local want = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local clock = call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])

local grant = want
local refused, retry = 0, -1
local tats, intervals = {}, {}
for i = 1, n do
  local interval = tonumber(ARGV[1 + 2 * i])
  local burst = tonumber(ARGV[2 + 2 * i])
  local tat = tonumber(call('GET', KEYS[i]) or now)
  if tat < now then tat = now end
  tats[i], intervals[i] = tat, interval
  -- Cell k (1-based) fits iff tat + (k - 1) * interval - now <= (burst - 1) * interval.
  local free = floor(((burst - 1) * interval - (tat - now)) / interval) + 1
  if free < 1 then
    local wait = tat - (burst - 1) * interval - now
    if wait > retry then refused, retry = i, wait end
  elseif free < grant then
    grant = free
  end
end

local quota = tonumber(ARGV[3 + 2 * n])
if quota >= 0 then
  local left = quota - tonumber(call('GET', KEYS[n + 1]) or '0')
  if left < 1 then
    local wait = tonumber(ARGV[4 + 2 * n])
    if wait > retry then refused, retry = n + 1, wait end
  elseif left < grant then
    grant = left
  end
end

if refused > 0 then
  return {0, refused, retry}
end

for i = 1, n do
  local tat = tats[i] + grant * intervals[i]
  local ttl_ms = floor((tat - now) / 1000) + 1001
  call('SET', KEYS[i], format('%.0f', tat), 'PX', format('%.0f', ttl_ms))
end
if quota >= 0 then
  call('INCRBY', KEYS[n + 1], grant)
  call('EXPIRE', KEYS[n + 1], 172800)
end
return {grant, 0, 0}
