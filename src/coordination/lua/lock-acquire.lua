-- SET NX PX and the fencing INCR in one step, so tokens increase in acquisition order.
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
return false
