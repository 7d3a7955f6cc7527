-- ratekeeper: one decision on one budget, in one atomic step.
--
-- This is internal/bucket (Reserve, Settle, Cancel, Lower, Advance) in Lua,
-- operation for operation in float64, so that the Redis store and the memory
-- store take the same decisions at the same instants. Keep them in step.
--
-- KEYS[1]   the budget's hash: last (µs), seq, l0..l5 (levels), exp (ms,
--           when the key expires)
-- ARGV[1]   op: "r" reserve, "s" settle, "u" settle with undo, "l" lower,
--           "g" snapshot (read only)
-- ARGV[2]   now in µs, or "" to read Redis TIME (production)
-- ARGV[3]   idle margin in ms added to the expiry
-- ARGV[4..21]  Capacity, Refill, Period (µs) of dimensions 0..5
-- ARGV[22..]   the op's arguments:
--   r: cost0..cost5, floor, maxWait (µs)
--   s: delta0..delta5
--   u: delta0..delta5, seq, prevLast, prevSeq, prev0..prev5
--   l: dim (0-based), level, hold (µs)
--
-- Numbers go out as text, in one string separated by spaces (one bulk
-- reply to read): %.17g round-trips a double, where Redis would truncate a
-- Lua number to an integer. Reserve answers ok, wait, dim, tooLarge, need,
-- have, seq, now and, when ok, the state before: last, seq, l0..l5.
-- Snapshot answers last, l0..l5.

local key = KEYS[1]
local op = ARGV[1]
local N = 6
local FULL, FULLS = 1e300, "1e300"
local tonumber, format, concat = tonumber, string.format, table.concat
local min, max, ceil, floor = math.min, math.max, math.ceil, math.floor
local LF = {"l0", "l1", "l2", "l3", "l4", "l5"}

local function fmt(x)
  return format("%.17g", x)
end

local now, nowS
if ARGV[2] ~= "" then
  nowS = ARGV[2]
  now = tonumber(nowS)
else
  local t = redis.call("TIME")
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  nowS = fmt(now)
end
local margin = tonumber(ARGV[3])

-- A dimension whose Capacity is "0" is not limited: nothing else of it is
-- read.
local cap, ref, per = {}, {}, {}
for i = 1, N do
  local j = 4 + (i - 1) * 3
  if ARGV[j] == "0" then
    cap[i] = 0
  else
    cap[i] = tonumber(ARGV[j])
    ref[i] = tonumber(ARGV[j + 1])
    per[i] = tonumber(ARGV[j + 2])
  end
end

-- Load the state, or a fresh one: every bucket full as of now. A fresh
-- Seq starts at now rather than 0, so that an undo made before the key
-- expired can never match a Seq of the key's next life.
--
-- ls[i] is the stored text of lv[i] while lv[i] is unchanged (nil once it
-- changes), lastS that of last: what is not changed is not formatted again.
local last, seq, lastS, seqS, exp
local lv, ls = {}, {}
local h = redis.call("HMGET", key, "last", "seq", "l0", "l1", "l2", "l3", "l4", "l5", "exp")
-- dirty[f] marks the fields to write: all of them for a fresh state.
local fresh = not h[1]
local dirty = {}
if fresh then
  dirty = {last = true, seq = true, true, true, true, true, true, true}
end
if h[1] then
  lastS, seqS = h[1], h[2]
  exp = tonumber(h[9])
  last, seq = tonumber(lastS), tonumber(seqS)
  for i = 1, N do
    ls[i] = h[i + 2]
    lv[i] = tonumber(ls[i])
  end
else
  last, seq, lastS, seqS = now, now, nowS, nowS
  for i = 1, N do
    lv[i], ls[i] = FULL, FULLS
  end
end
local seq0S = seqS

local function set(i, v)
  lv[i] = v
  ls[i] = nil
  dirty[i] = true
end

-- bucket.State.Advance
local function advance()
  local dt = 0
  if now > last then
    dt = now - last
    last, lastS = now, nowS
    dirty.last = true
  end
  for i = 1, N do
    local c = cap[i]
    if c > 0 then
      local v = min(c, lv[i] + ref[i] * dt / per[i])
      if v ~= lv[i] then
        set(i, v)
      end
    end
  end
end

local function bump()
  seq = seq + 1
  seqS = nil
  dirty.seq = true
end

-- Write what changed, and make sure the key outlives the instant every
-- bucket would be full again: a missing key is a fresh, full budget. The
-- expiry (field exp, ms of the script's clock) is pushed only when that
-- instant passes it, and then margin beyond, so most calls skip PEXPIRE.
local function save()
  local full = 0
  for i = 1, N do
    local c = cap[i]
    if c > 0 and lv[i] < c then
      local w = ceil((c - lv[i]) * per[i] / ref[i])
      if w > full then
        full = w
      end
    end
  end
  local w = {}
  if dirty.last then
    lastS = lastS or fmt(last)
    w[#w + 1] = "last"
    w[#w + 1] = lastS
  end
  if dirty.seq then
    seqS = seqS or fmt(seq)
    w[#w + 1] = "seq"
    w[#w + 1] = seqS
  end
  for i = 1, N do
    if dirty[i] then
      ls[i] = ls[i] or fmt(lv[i])
      w[#w + 1] = LF[i]
      w[#w + 1] = ls[i]
    end
  end
  local due = ceil((last + full) / 1000)
  if exp == nil or due > exp then
    exp = due + margin
    w[#w + 1] = "exp"
    w[#w + 1] = fmt(exp)
  end
  if #w > 0 then
    redis.call("HSET", key, unpack(w))
  end
  if w[#w - 1] == "exp" then
    -- Bounded so that PEXPIRE accepts it (2^40 ms is about 35 years).
    redis.call("PEXPIRE", key, min(exp - floor(now / 1000), 1099511627776))
  end
end

-- bucket.Settle
local function settle(base)
  advance()
  for i = 1, N do
    local c = cap[i]
    if c > 0 then
      local d = tonumber(ARGV[base + i - 1])
      if d ~= 0 then
        set(i, min(c, lv[i] + d))
      end
    end
  end
  bump()
end

if op == "r" then
  -- bucket.Reserve
  local pLastS, p = lastS, {ls[1], ls[2], ls[3], ls[4], ls[5], ls[6]}
  local fl = tonumber(ARGV[28])
  local maxWait = tonumber(ARGV[29])
  advance()
  local cost = {}
  local wait, dim, dNeed, dHave = 0, -1, "0", 0
  for i = 1, N do
    local c = cap[i]
    if c > 0 then
      local need = tonumber(ARGV[21 + i])
      cost[i] = need
      if need > 0 then
        local mn = fl * c
        -- above the capacity but within the limit per period: admitted
        -- once full down to the floor (internal/bucket.Reserve)
        local most = max(c, ref[i]) - mn
        if need > most then
          save()
          return concat({"0", "0", tostring(i - 1), "1", ARGV[21 + i], fmt(most), seqS, nowS}, " ")
        end
        local deficit = min(need, c - mn) + mn - lv[i]
        if deficit > 0 then
          local w = ceil(deficit * per[i] / ref[i])
          if w > wait or dim < 0 then
            wait, dim, dNeed, dHave = w, i - 1, ARGV[21 + i], lv[i] - mn
          end
        end
      end
    end
  end
  local waitS, haveS = "0", "0"
  if dim >= 0 then
    waitS, haveS = fmt(wait), fmt(dHave)
  end
  if wait > maxWait then
    save()
    return concat({"0", waitS, tostring(dim), "0", dNeed, haveS, seqS, nowS}, " ")
  end
  for i = 1, N do
    local c, need = cap[i], cost[i]
    if c > 0 and need > 0 then
      local hold = ref[i] * wait / per[i]
      set(i, min(c, lv[i] + hold) - need - hold)
    end
  end
  bump()
  save()
  return concat({"1", waitS, tostring(dim), "0", dNeed, haveS, seqS, nowS,
    pLastS, seq0S, p[1], p[2], p[3], p[4], p[5], p[6]}, " ")
elseif op == "s" then
  settle(22)
  save()
  return 1
elseif op == "u" then
  -- bucket.Cancel
  if seq == tonumber(ARGV[28]) then
    lastS, seqS = ARGV[29], ARGV[30]
    last, seq = tonumber(lastS), tonumber(seqS)
    dirty = {last = true, seq = true, true, true, true, true, true, true}
    for i = 1, N do
      ls[i] = ARGV[30 + i]
      lv[i] = tonumber(ls[i])
    end
  else
    settle(22)
  end
  save()
  return 1
elseif op == "l" then
  -- bucket.Lower
  local d = tonumber(ARGV[22]) + 1
  advance()
  if cap[d] > 0 then
    local v = tonumber(ARGV[23]) - ref[d] * tonumber(ARGV[24]) / per[d]
    if v < lv[d] then
      set(d, v)
      bump()
    end
  end
  save()
  return 1
elseif op == "g" then
  advance()
  return concat({lastS, ls[1] or fmt(lv[1]), ls[2] or fmt(lv[2]), ls[3] or fmt(lv[3]),
    ls[4] or fmt(lv[4]), ls[5] or fmt(lv[5]), ls[6] or fmt(lv[6])}, " ")
end
return redis.error_reply("ratekeeper: unknown op")
