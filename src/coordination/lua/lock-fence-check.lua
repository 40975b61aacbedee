-- True if the token is the newest issued and its holder's lease is still live.
if redis.call('EXISTS', KEYS[1]) == 1 and redis.call('GET', KEYS[2]) == ARGV[1] then return 1 end
return 0
