-- What FUNCTION LOAD's libraries see, as Redis 7.0 gives it. While a library's top-level code
-- runs, its globals are only `redis.register_function`, `redis.log`, the `LOG_*` levels and the
-- version: no `string`, no `redis.call`, no `error`. Once it is loaded, the functions it registered
-- see the same globals as EVAL's scripts (without KEYS and ARGV: they get theirs as arguments).
-- Runs after environment.lua, in the functions' own interpreter.
local error, type, tostring, select, next, setmetatable = error, type, tostring, select, next, setmetatable
local runtime = _G

-- Redis's function flags, as bits of the number cachet reads back (see functions.rs).
local FLAGS = {['no-writes'] = 1, ['allow-oom'] = 2, ['allow-stale'] = 4, ['no-cluster'] = 8, ['allow-cross-slot-keys'] = 16}

-- Raises an error as Redis's C functions do: a table whose `err` field is the reply.
local function fail(message)
  error({err = 'ERR ' .. message}, 0)
end

local function readonly()
  error('Attempt to modify a readonly table', 2)
end

-- A read-only view of `fields` whose absent names raise Redis's error.
local function protected(fields)
  return setmetatable({}, {
    __index = function(_, name)
      local value = fields[name]
      if value == nil then
        error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
      end
      return value
    end,
    __newindex = readonly,
    __metatable = {},
  })
end

-- A string argument as Redis's C side reads one: a string, or a number in Lua's own notation.
local function text(value)
  if type(value) == 'string' then
    return value
  elseif type(value) == 'number' then
    return tostring(value)
  end
end

local function read_flags(list)
  local flags, position = 0, 1
  while true do
    local flag = list[position]
    if flag == nil then
      return flags
    end
    local bit = text(flag) and FLAGS[text(flag):lower()]
    if not bit then
      fail('unknown flag given')
    end
    if flags % (2 * bit) < bit then
      flags = flags + bit
    end
    position = position + 1
  end
end

-- `redis.register_function{function_name = ..., callback = ..., flags = {...}, description = ...}`,
-- read in the table's own order, as Redis reads it: the first wrong field is the one reported.
local function named_arguments(arguments)
  if type(arguments) ~= 'table' then
    fail('calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).')
  end
  local name, callback, flags, description = nil, nil, 0, nil
  for key, value in next, arguments do
    if text(key) == nil then
      fail('named argument key given to redis.register_function is not a string')
    end
    local option = text(key):lower()
    if option == 'function_name' then
      name = text(value) or fail('function_name argument given to redis.register_function must be a string')
    elseif option == 'description' then
      description = text(value) or fail('description argument given to redis.register_function must be a string')
    elseif option == 'callback' then
      if type(value) ~= 'function' then
        fail('callback argument given to redis.register_function must be a function')
      end
      callback = value
    elseif option == 'flags' then
      if type(value) ~= 'table' then
        fail('flags argument to redis.register_function must be a table representing function flags')
      end
      flags = read_flags(value)
    else
      fail('unknown argument given to redis.register_function')
    end
  end
  if name == nil then
    fail('redis.register_function must get a function name argument')
  end
  if callback == nil then
    fail('redis.register_function must get a callback argument')
  end
  return name, callback, flags, description
end

local function positional_arguments(name, callback)
  name = text(name)
  if name == nil then
    fail('first argument to redis.register_function must be a string')
  end
  if type(callback) ~= 'function' then
    fail('second argument to redis.register_function must be a function')
  end
  return name, callback, 0, nil
end

-- `redis.register_function` for one library: adds to `registered`, in order.
local function registrar(registered)
  return function(...)
    if registered.closed then
      fail('redis.register_function can only be called on FUNCTION LOAD command')
    end
    local count = select('#', ...)
    if count < 1 or count > 2 then
      fail('wrong number of arguments to redis.register_function')
    end
    local name, callback, flags, description
    if count == 1 then
      name, callback, flags, description = named_arguments((...))
    else
      name, callback, flags, description = positional_arguments(...)
    end
    if not name:find('^[a-zA-Z0-9_]+$') then
      -- Redis 7.0 names libraries in this error about a function's name.
      fail('Library names can only contain letters, numbers, or underscores(_) and must be at least one character long')
    end
    -- Case-sensitive within a library, though FCALL finds functions in any letter case.
    if registered.names[name] then
      fail('Function already exists in the library')
    end
    registered.names[name] = true
    registered[#registered + 1] = {name = name, callback = callback, flags = flags, description = description}
  end
end

-- A new library's globals, the list its functions are registered in, and what ends its loading.
local function library_environment()
  local registered = {names = {}}
  local redis = runtime.redis
  local api = protected({
    redis = protected({
      register_function = registrar(registered),
      log = redis.log,
      LOG_DEBUG = redis.LOG_DEBUG, LOG_VERBOSE = redis.LOG_VERBOSE,
      LOG_NOTICE = redis.LOG_NOTICE, LOG_WARNING = redis.LOG_WARNING,
      REDIS_VERSION = redis.REDIS_VERSION, REDIS_VERSION_NUM = redis.REDIS_VERSION_NUM,
    }),
  })
  local meta = {__index = api, __newindex = readonly, __metatable = {}}
  local function loaded()
    meta.__index = runtime
    registered.closed = true
  end
  return setmetatable({}, meta), registered, loaded
end

return {library_environment = library_environment}
