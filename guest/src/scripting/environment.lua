-- The environment cachet's scripts run in, as Redis 7.0 gives it: the `redis` library, Redis's
-- deterministic math.random, protected globals and the error handler that records where an error
-- happened. `engine` holds the few functions written in Rust (see environment.rs).
local engine = ...
local error, type, tostring, tonumber, select, floor = error, type, tostring, tonumber, select, math.floor
local getinfo = debug.getinfo

-- Raises an error as Redis's library functions do: a table whose `err` field is the reply.
local function fail(message)
  error({err = 'ERR ' .. message}, 0)
end

-- `-CODE message` (or a bare message, coded ERR) as the text of an error reply.
local function error_text(message)
  local code, text = 'ERR', message
  if message:sub(1, 1) == '-' then
    local space = message:find(' ', 1, true)
    if space then
      code, text = message:sub(2, space - 1), message:sub(space + 1)
    else
      text = message:sub(2)
    end
  end
  text = text:gsub('^[\r\n]+', ''):gsub('[\r\n]+$', '')
  return code .. ' ' .. text
end

local redis = {
  LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
  REPL_NONE = 0, REPL_AOF = 1, REPL_SLAVE = 2, REPL_REPLICA = 2, REPL_ALL = 3,
  REDIS_VERSION = engine.version, REDIS_VERSION_NUM = engine.version_num,
}

redis.call = engine.call
redis.pcall = engine.pcall

function redis.error_reply(...)
  local message = ...
  if select('#', ...) ~= 1 or type(message) ~= 'string' then
    return {err = 'ERR wrong number or type of arguments'}
  end
  if message:sub(1, 1) ~= '-' then
    message = '-' .. message
  end
  return {err = error_text(message)}
end

function redis.status_reply(...)
  local message = ...
  if select('#', ...) ~= 1 or type(message) ~= 'string' then
    return {err = 'ERR wrong number or type of arguments'}
  end
  return {ok = message}
end

function redis.sha1hex(...)
  if select('#', ...) ~= 1 then
    fail('wrong number of arguments')
  end
  local text = ...
  return engine.sha1hex(type(text) == 'number' and tostring(text) or text)
end

function redis.log(...)
  local count, level = select('#', ...), ...
  if count < 2 then
    fail('redis.log() requires two arguments or more.')
  end
  if tonumber(level) == nil then
    fail('First argument must be a number')
  end
  level = tonumber(level)
  if level < redis.LOG_DEBUG or level > redis.LOG_WARNING then
    fail('Invalid debug level.')
  end
  local parts = {}
  for i = 2, count do
    local part = select(i, ...)
    if type(part) == 'string' or type(part) == 'number' then
      parts[#parts + 1] = tostring(part)
    end
  end
  engine.log(level, table.concat(parts, ' '))
end

function redis.setresp(...)
  if select('#', ...) ~= 1 then
    fail('redis.setresp() requires one argument.')
  end
  local version = tonumber((...))
  if version ~= 2 and version ~= 3 then
    fail('RESP version must be 2 or 3.')
  end
  engine.setresp(version)
end

function redis.set_repl(...)
  if select('#', ...) ~= 1 then
    fail('redis.set_repl() requires one argument.')
  end
  local flags = tonumber((...)) or -1
  if flags < 0 or flags > redis.REPL_ALL or flags ~= floor(flags) then
    fail('Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.')
  end
end

function redis.replicate_commands()
  return true
end

-- No debugger is attached: as Redis answers outside a debugging session.
function redis.breakpoint()
  return false
end

function redis.debug()
end

-- luaL_checkint's conversion: a number, or a string holding one, cut towards zero. Errors name the
-- line of the script that called math.random, as Lua's own argument errors do.
local function check_int(name, position, count, value)
  local number = tonumber(value)
  if number == nil then
    local got = position > count and 'no value' or type(value)
    error(("bad argument #%d to '%s' (number expected, got %s)"):format(position, name, got), 3)
  end
  return number >= 0 and floor(number) or -floor(-number)
end

function math.random(...)
  local count, low, high = select('#', ...), ...
  local r = engine.random()
  if count == 0 then
    return r
  elseif count == 1 then
    local u = check_int('random', 1, count, low)
    if u < 1 then
      error("bad argument #1 to 'random' (interval is empty)", 2)
    end
    return floor(r * u) + 1
  elseif count == 2 then
    local l, u = check_int('random', 1, count, low), check_int('random', 2, count, high)
    if l > u then
      error("bad argument #2 to 'random' (interval is empty)", 2)
    end
    return floor(r * (u - l + 1)) + l
  end
  error('wrong number of arguments', 2)
end

function math.randomseed(...)
  engine.randomseed(check_int('randomseed', 1, select('#', ...), (...)))
end

-- The innermost frame of the user's script (or FUNCTION library) in the stopped coroutine `co`:
-- errors are reported at its line.
local function script_frame(co)
  for level = 0, 20 do
    local info = getinfo(co, level, 'Sl')
    if info == nil then
      return nil
    end
    if info.source == '@user_script' or info.source == '@user_function' then
      return info
    end
  end
end

-- The error a script stopped with, as a table with its `err` text and where it was raised.
local function describe_error(co, err)
  if type(err) ~= 'table' then
    err = {err = 'ERR ' .. tostring(err)}
  end
  local frame = script_frame(co)
  if frame then
    err.source = frame.source
    err.line = frame.currentline
  end
  return err
end

-- Redis 7.0's pcall: an error raised as a table with an `err` text (redis.call's) is caught as
-- that text.
local lua_pcall, unpack = pcall, unpack
local function pack(...)
  return {n = select('#', ...), ...}
end
function pcall(f, ...)
  local results = pack(lua_pcall(f, ...))
  if not results[1] and type(results[2]) == 'table' and type(results[2].err) == 'string' then
    return false, results[2].err
  end
  return unpack(results, 1, results.n)
end

-- Globals: what Redis 7.0 offers scripts, and nothing more.
local set_environment = setfenv
for _, name in ipairs({'print', 'dofile', 'loadfile', 'getfenv', 'setfenv', 'newproxy', 'module', 'require', 'package', 'debug', 'os', 'io'}) do
  _G[name] = nil
end
_G.redis = redis

-- Read-only tables, as Redis 7 makes the globals and the libraries: a script can read them and
-- cannot change them, so no script changes what the next one finds. Each is a view whose reads
-- fall through to the table and whose writes fail; rawset and the table library's writers refuse
-- the views too.
local function refuse()
  error('Attempt to modify a readonly table', 2)
end
local views = {}
local function readonly(t)
  local view = setmetatable({}, {__index = t, __newindex = refuse, __metatable = {}})
  views[view] = t
  return view
end
-- Iterating a view iterates what it shows.
local raw_next, raw_ipairs = next, ipairs
function next(t, key)
  return raw_next(views[t] or t, key)
end
function pairs(t)
  return next, t, nil
end
function ipairs(t)
  return raw_ipairs(views[t] or t)
end
-- A table writer that refuses the views, as Redis's C functions do: without a position.
local function checked(write)
  return function(t, ...)
    if views[t] then
      error('Attempt to modify a readonly table', 0)
    end
    return write(t, ...)
  end
end
rawset = checked(rawset)
-- Reading a view raw reads what it shows (a C function, so its errors are Lua's own rawget's).
rawget = engine.rawget_through(views)
table.insert, table.remove, table.sort = checked(table.insert), checked(table.remove), checked(table.sort)
for _, name in ipairs({'string', 'table', 'math', 'coroutine', 'redis', 'cjson', 'cmsgpack', 'bit', 'struct'}) do
  _G[name] = readonly(_G[name])
end
-- Strings' metatable leads to the string library: it shows the read-only one.
getmetatable('').__metatable = readonly({__index = _G.string})

setmetatable(_G, {
  __index = function(_, name)
    error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
  end,
  __newindex = refuse,
  __metatable = {},
})
-- Scripts (and functions) see the globals through a view as well, `_G` included.
local globals = readonly(_G)
_G._G = globals
set_environment(0, globals)

-- Runs a script's coroutine until it ends or the engine's hook suspends it at the end of a slice:
-- 0 and its result, 1 and its error (a table, see describe_error), or 2 while it is suspended.
local resume, status = coroutine.resume, coroutine.status
local driver = {}
function driver.step(co)
  local ok, result = resume(co)
  if not ok then
    return 1, describe_error(co, result)
  end
  if status(co) == 'suspended' then
    return 2
  end
  return 0, result
end
-- Where a suspended script stands, for the error that ends it (SCRIPT KILL).
driver.describe = describe_error
return driver
