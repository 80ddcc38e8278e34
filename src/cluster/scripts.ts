/**
 * The Lua scripts of the cluster log. Each runs atomically in Redis, so an append checks
 * the epoch, drops positions already in the log and numbers its entries in one step, with
 * nothing of another instance's append in between.
 */

/**
 * KEYS: log, meta. ARGV: epoch, seen-set prefix, seen window, then per event `source`,
 * `position` (its `_seq` when it carries slot and index, else ""), `payload` (event JSON)
 * and `cursor` (the source's `_seq` after it, else "").
 * Returns `{-1, epoch-in-redis}` on an epoch mismatch, else `{appended, duplicates, n}`.
 */
export const APPEND = `
local epoch = redis.call('HGET', KEYS[2], 'epoch')
if epoch ~= ARGV[1] then return {-1, epoch or ''} end
local window = tonumber(ARGV[3])
local appended, duplicates = 0, 0
for i = 4, #ARGV, 4 do
  local source, position, payload, cursor = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local seen = ARGV[2] .. source
  if position ~= '' and redis.call('ZSCORE', seen, position) then
    duplicates = duplicates + 1
  else
    local n = redis.call('HINCRBY', KEYS[2], 'n', 1)
    redis.call('XADD', KEYS[1], '*', 'n', n, 's', source, 'e', payload)
    if position ~= '' then
      local colon = string.find(position, ':', 1, true)
      redis.call('ZADD', seen, tonumber(string.sub(position, 1, colon - 1)), position)
      if redis.call('ZCARD', seen) > window + 1000 then
        redis.call('ZREMRANGEBYRANK', seen, 0, -(window + 1))
      end
    end
    if cursor ~= '' then redis.call('HSET', KEYS[2], 'cursor:' .. source, cursor) end
    appended = appended + 1
  end
end
return {appended, duplicates, redis.call('HGET', KEYS[2], 'n') or '0'}
`;

/**
 * KEYS: meta, checkpoint, log. ARGV: candidate epoch, state JSON, now (ms).
 * Starts an epoch when none exists: its checkpoint is the caller's state at the log's
 * current end (offset 0). Returns `{1, epoch}` when this call started it, `{0, epoch}`
 * when another already had.
 */
export const CREATE_EPOCH = `
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if epoch then return {0, epoch} end
local last = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)
local id = '0-0'
if last[1] then id = last[1][1] end
redis.call('HSET', KEYS[1], 'epoch', ARGV[1], 'n', 0)
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], 'epoch', ARGV[1], 'id', id, 'n', 0, 'at', ARGV[3], 'state', ARGV[2])
return {1, ARGV[1]}
`;

/**
 * KEYS: meta, log, checkpoint. ARGV: epoch, probe tag ("" for none).
 * Liveness and epoch check in one round trip; with a tag, also a probe entry in the log
 * (field `p`), which this instance's consumer must see. Returns `{-1, epoch-in-redis}` on
 * a mismatch, else `{1, n, checkpoint-at}`.
 */
export const PROBE = `
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if epoch ~= ARGV[1] then return {-1, epoch or ''} end
local n = redis.call('HGET', KEYS[1], 'n') or '0'
if ARGV[2] ~= '' then redis.call('XADD', KEYS[2], '*', 'p', ARGV[2], 'n', n) end
return {1, n, redis.call('HGET', KEYS[3], 'at') or ''}
`;

/**
 * KEYS: checkpoint, meta, log. ARGV: epoch, id, n, now (ms), state JSON.
 * Replaces the checkpoint when the epoch still holds, then trims the log behind the one it
 * replaced (so an instance a whole interval behind still finds its entries). Returns 1, or
 * -1 on an epoch mismatch.
 */
export const WRITE_CHECKPOINT = `
if redis.call('HGET', KEYS[2], 'epoch') ~= ARGV[1] then return -1 end
local previous = redis.call('HGET', KEYS[1], 'id')
redis.call('HSET', KEYS[1], 'epoch', ARGV[1], 'id', ARGV[2], 'n', ARGV[3], 'at', ARGV[4], 'state', ARGV[5])
if previous and previous ~= '0-0' then redis.call('XTRIM', KEYS[3], 'MINID', previous) end
return 1
`;

/** KEYS: lease. ARGV: instance, ms. Extends the lease if this instance holds it: 1, else 0. */
export const RENEW_LEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`;

/** KEYS: lease. ARGV: instance. Gives the lease up if this instance holds it. */
export const RELEASE_LEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;
