-- ratekeeper: one decision on one budget, in one atomic step.
--
-- This is internal/bucket (Reserve, Settle, Cancel, LowerDims, Advance) in Lua,
-- operation for operation in float64, so that the Redis store and the memory
-- store take the same decisions at the same instants. Keep them in step.
--
-- KEYS[1]  the budget's hash: last (µs), seq, l0..l5 (levels), exp (ms,
--          when the key expires), end (µs) and p0..p5 (the line's End and
--          Peak; a missing one is 0, an empty line, as keys written before
--          them have), as text that round-trips a double (%.17g), and c
--          (the claim, bucket.Claim, packed; none when missing)
-- ARGV[1]  the call, packed: one byte, the op ("r" reserve, "s" settle,
--          "u" settle with undo, "c" release a claim, "l" lower, "g"
--          snapshot, read only), then
--          little-endian float64s:
--            now (µs; 0 reads Redis TIME), idle margin (ms),
--            Capacity, Refill, Period (µs) of dimensions 0..5,
--          and the op's own:
--            r: cost0..cost5, floor, maxWait (µs), waiter id, waiter since
--               (µs; 0: now) — bucket.Waiter
--            s: delta0..delta5
--            u: delta0..delta5, seq, prevLast, prevSeq, prev0..prev5
--               (limiter.Undo: the seq the reservation left, and what the
--               undo restores)
--            c: waiter id (release its claim: bucket.Release)
--            l: dims (bit i: lower dimension i, 0-based), level0..level5,
--               hold0..hold5 (µs)
--
-- Reserve answers ok, wait, dim, tooLarge, need, have, seq, now and, when
-- ok, the state before: last, seq, l0..l5, end, p0..p5, or, when not, the
-- waiter's since (0 for a call that is not a waiter); snapshot answers
-- last, l0..l5;
-- both as little-endian float64s in one string. The others answer 1.
--
-- Redis runs one script at a time, so what this one costs on the server is
-- what every caller waits for. Numbers travel as float64s (exact both ways,
-- one struct call for all of them); only the stored fields that change are
-- formatted, and only those are written. The body runs once per call:
-- it defines no functions (each would be a new closure every time) and
-- creates no more tables than it must.

local key = KEYS[1]
local blob = ARGV[1]
local op = string.sub(blob, 1, 1)
local tonumber, format, sub = tonumber, string.format, string.sub
local floor, ceil, min = math.floor, math.ceil, math.min
local FULL, FULLS = 1e300, "1e300"
local MAXEND = 9007199254740992 -- bucket.MaxEnd, 2^53

-- a[1] now, a[2] margin; dimension i (1..6) has Capacity a[3i], Refill
-- a[3i+1], Period a[3i+2]; the op's arguments start at a[21]. A dimension
-- whose Capacity is 0 is not limited: nothing else of it is read.
local a
if op == "r" then -- 20 + 10
  a = {struct.unpack("<dddddddddddddddddddddddddddddd", blob, 2)}
elseif op == "c" then -- 20 + 1
  a = {struct.unpack("<ddddddddddddddddddddd", blob, 2)}
elseif op == "s" then -- 20 + 6
  a = {struct.unpack("<dddddddddddddddddddddddddd", blob, 2)}
elseif op == "u" then -- 20 + 15
  a = {struct.unpack("<ddddddddddddddddddddddddddddddddddd", blob, 2)}
elseif op == "l" then -- 20 + 13
  a = {struct.unpack("<ddddddddddddddddddddddddddddddddd", blob, 2)}
elseif op == "g" then -- 20
  a = {struct.unpack("<dddddddddddddddddddd", blob, 2)}
else
  return redis.error_reply("ratekeeper: unknown op")
end

local now, t = a[1], nil
if now == 0 then
  t = redis.call("TIME")
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end

-- Load the state, or a fresh one: every bucket full as of now. A fresh
-- Seq starts at now rather than 0, so that an undo made before the key
-- expired can never match a Seq of the key's next life.
--
-- h keeps the stored text of each field while its value is unchanged; a
-- field whose value changes gets false there, and is formatted and written
-- by the save below. A fresh state has false everywhere: all is written.
--
-- end (h[10]) and p0..p5 (h[11..16]) are 0 when missing (a fresh key, or
-- one written before they existed): they are marked unchanged, so that a
-- zero is never written.
local h = redis.call("HMGET", key, "last", "seq", "l0", "l1", "l2", "l3", "l4", "l5", "exp",
  "end", "p0", "p1", "p2", "p3", "p4", "p5", "c")
local last, seq, exp = now, now, nil
local lv = {FULL, FULL, FULL, FULL, FULL, FULL}
if h[1] then
  last, seq, exp = tonumber(h[1]), tonumber(h[2]), tonumber(h[9])
  for i = 1, 6 do
    local s = h[2 + i]
    if s ~= FULLS then
      lv[i] = tonumber(s)
    end
  end
end
local en, pk = 0, {0, 0, 0, 0, 0, 0}
for i = 10, 16 do
  local s = h[i]
  if s then
    if i == 10 then
      en = tonumber(s)
    else
      pk[i - 10] = tonumber(s)
    end
  else
    h[i] = "0"
  end
end
-- The claim (bucket.Claim): field c, nine little-endian float64s: cid (0:
-- none), cs (since), cu (until), k1..k6 (the units claimed); written whole
-- when it changes.
local cid, cs, cu, ck, claimed = 0, 0, 0, {0, 0, 0, 0, 0, 0}, false
if h[17] then
  cid, cs, cu, ck[1], ck[2], ck[3], ck[4], ck[5], ck[6] = struct.unpack("<ddddddddd", h[17])
end
-- The state before, for Reserve's answer.
local pLast, pSeq, p1, p2, p3, p4, p5, p6 = last, seq, lv[1], lv[2], lv[3], lv[4], lv[5], lv[6]
local pEnd, q1, q2, q3, q4, q5, q6 = en, pk[1], pk[2], pk[3], pk[4], pk[5], pk[6]
local reply = 1

if op == "u" and seq == a[27] then
  -- bucket.Cancel, no mutation since the reservation: restore it exactly.
  if last ~= a[28] then
    last, h[1] = a[28], false
  end
  seq, h[2] = a[29], false
  for i = 1, 6 do
    local v = a[29 + i]
    if v ~= lv[i] then
      lv[i], h[2 + i] = v, false
    end
  end
  -- end and peaks stay (bucket.Cancel): they only narrow refunds.
else
  -- bucket.State.Advance
  local dt = 0
  if now > last then
    dt = now - last
    last, h[1] = now, false
  end
  for i = 1, 6 do
    local c = a[3 * i]
    if c > 0 then
      local l = lv[i]
      local v = l + a[3 * i + 1] * dt / a[3 * i + 2]
      if not (v < c) then -- math.min(c, v)
        v = c
      end
      if v ~= l then
        lv[i], h[2 + i] = v, false
      end
    end
  end

  if op == "g" then
    return struct.pack("<ddddddd", last, lv[1], lv[2], lv[3], lv[4], lv[5], lv[6])
  end

  if op == "r" then
    -- bucket.Reserve
    local fl, maxWait, wid, since = a[27], a[28], a[29], a[30]
    local inForce = cid ~= 0 and cu > now
    local beside = inForce and cid ~= wid -- units set aside for another
    local wait, dim, dNeed, dHave = 0, -1, 0, 0
    for i = 1, 6 do
      local c, need = a[3 * i], a[20 + i]
      if c > 0 and need > 0 then
        local ref, mn = a[3 * i + 1], fl * c
        -- above the capacity but within the limit per period: admitted
        -- once full down to the floor (internal/bucket.Reserve)
        local most = (ref > c and ref or c) - mn -- math.max(c, ref) - mn
        if need > most then
          reply = struct.pack("<ddddddddd", 0, 0, i - 1, 1, need, most, seq, now, 0)
          break
        end
        local deficit = min(need, c - mn) + mn - lv[i]
        if beside then
          deficit = deficit + ck[i]
        end
        if deficit > 0 then
          local w = ceil(deficit * a[3 * i + 2] / ref - 1e-6) -- bucket.Limit.time
          if w > wait or dim < 0 then
            wait, dim, dNeed, dHave = w, i - 1, need, lv[i] - mn
          end
        end
      end
    end
    if reply == 1 then
      if wait > maxWait then
        -- a refused waiter claims its cost if nobody older holds a claim
        if wid ~= 0 then
          if since == 0 then
            since = now
          end
          if not beside or since < cs or (since == cs and wid < cid) then
            cid, cs, cu, claimed = wid, since, now + 1000000, true -- bucket.ClaimTTL
            for i = 1, 6 do
              ck[i] = a[20 + i]
            end
          end
        end
        reply = struct.pack("<ddddddddd", 0, wait, dim, 0, dNeed, dHave, seq, now, since)
      else
        if wid ~= 0 and cid == wid then -- the claimant acts
          cid, claimed = 0, true
        end
        -- a call that waits joins the line: End and Peak (a call that
        -- acts now leaves them alone)
        local inline = wait > 0
        if inline and last >= en then -- the line was empty: its peaks are past
          for i = 1, 6 do
            if pk[i] ~= 0 then
              pk[i], h[10 + i] = 0, false
            end
          end
        end
        for i = 1, 6 do
          local c, need = a[3 * i], a[20 + i]
          if c > 0 and need > 0 then
            local hold = a[3 * i + 1] * wait / a[3 * i + 2]
            local pre = min(c, lv[i] + hold)
            lv[i], h[2 + i] = pre - need - hold, false
            if inline and pre > pk[i] then -- max(Peak, pre)
              pk[i], h[10 + i] = pre, false
            end
          end
        end
        if inline then
          local e = MAXEND
          if wait <= MAXEND - last then
            e = last + wait
          end
          if e > en then
            en, h[10] = e, false
          end
        end
        seq, h[2] = seq + 1, false
        reply = struct.pack("<ddddddddddddddddddddddd", 1, wait, dim, 0, dNeed, dHave, seq, now,
          pLast, pSeq, p1, p2, p3, p4, p5, p6, pEnd, q1, q2, q3, q4, q5, q6)
      end
    end
  elseif op == "c" then
    -- bucket.Release: not a mutation of the levels
    if cid ~= 0 and cid == a[21] then
      cid, claimed = 0, true
    end
  elseif op == "l" then
    -- bucket.LowerDims: dimension i when bit i-1 of the mask is set, in
    -- increasing order; one mutation if any level drops.
    local m, lowered = a[21], false
    for i = 1, 6 do
      local b = m % 2
      m = (m - b) / 2
      local c = a[3 * i]
      if b == 1 and c > 0 then
        local v = a[21 + i] - a[3 * i + 1] * a[27 + i] / a[3 * i + 2]
        if v < lv[i] then
          lv[i], h[2 + i] = v, false
          lowered = true
        end
      end
    end
    if lowered then
      seq, h[2] = seq + 1, false
    end
  else
    -- bucket.Settle ("s", and "u" when something happened since): while
    -- calls wait in line, a refund keeps only capacity − Peak.
    local line = last < en
    for i = 1, 6 do
      local c, d = a[3 * i], a[20 + i]
      if c > 0 and d ~= 0 then
        if d > 0 and line and pk[i] > 0 then
          local room = c - pk[i]
          if room < 0 then -- max(0, room)
            room = 0
          end
          if room < d then -- min(d, room)
            d = room
          end
          if d ~= 0 then
            pk[i], h[10 + i] = pk[i] + d, false
          end
        end
        local l = lv[i]
        local v = min(c, l + d)
        if d < 0 then -- a debit stops at min(l, -c): max(v, min(l, -c))
          local fl = -c
          if l < fl then
            fl = l
          end
          if v < fl then
            v = fl
          end
        end
        if v ~= l then
          lv[i], h[2 + i] = v, false
        end
      end
    end
    seq, h[2] = seq + 1, false
  end
end

-- Write what changed, and make sure the key outlives the instant every
-- bucket would be full again: a missing key is a fresh, full budget. The
-- expiry (field exp, ms of the script's clock) is pushed only when that
-- instant passes it, and then margin beyond, so most calls skip PEXPIRE.
local full = 0
for i = 1, 6 do
  local c = a[3 * i]
  if c > 0 and lv[i] < c then
    local w = ceil((c - lv[i]) * a[3 * i + 2] / a[3 * i + 1])
    if w > full then
      full = w
    end
  end
end
-- w: the arguments of HSET, n of them. Made with room for twelve (last,
-- seq, three levels and exp) rather than grown one by one; a call that
-- also moves the line's end and peaks grows it.
local w, n = {nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil}, 0
if not h[1] then
  if t and last == now then
    -- Redis TIME's own digits: seconds, then µs padded to six
    w[1], w[2] = "last", t[1] .. sub("000000", #t[2] + 1) .. t[2]
  else
    w[1], w[2] = "last", format("%.17g", last)
  end
  n = 2
end
if not h[2] then
  w[n + 1], w[n + 2], n = "seq", format("%.17g", seq), n + 2
end
for i = 1, 6 do
  if not h[2 + i] then
    local v = lv[i]
    w[n + 1], w[n + 2], n = sub("l0l1l2l3l4l5", 2 * i - 1, 2 * i), v == FULL and FULLS or format("%.17g", v), n + 2
  end
end
if not h[10] then
  w[n + 1], w[n + 2], n = "end", format("%.17g", en), n + 2
end
for i = 1, 6 do
  if not h[10 + i] then
    w[n + 1], w[n + 2], n = sub("p0p1p2p3p4p5", 2 * i - 1, 2 * i), format("%.17g", pk[i]), n + 2
  end
end
if claimed then
  w[n + 1], w[n + 2], n = "c", struct.pack("<ddddddddd", cid, cs, cu, ck[1], ck[2], ck[3], ck[4], ck[5], ck[6]), n + 2
end
local due = ceil((last + full) / 1000)
local expire = not exp or due > exp
if expire then
  exp = due + a[2]
  w[n + 1], w[n + 2], n = "exp", format("%.17g", exp), n + 2
end
if n > 0 then
  redis.call("HSET", key, unpack(w, 1, n))
end
if expire then
  -- Bounded so that PEXPIRE accepts it (2^40 ms is about 35 years).
  redis.call("PEXPIRE", key, min(exp - floor(now / 1000), 1099511627776))
end
return reply
