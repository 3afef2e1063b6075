//! The Lua libraries Redis 7.0 gives scripts — `cjson`, `cmsgpack`, `bit` and `struct` — against
//! a real `cachet serve`: tables of scripts run on cachet and on Debian's redis-server 7.0, the
//! replies compared byte for byte in RESP2 and RESP3, errors included; and a job queue and a rate
//! limiter that keep their state as JSON, as client libraries' scripts do.

mod common;

use common::{Redis, Server, assert_same_as_redis};

/// Runs each script with EVAL (no keys) on a new cachet and a new redis-server, and compares.
fn same_as_redis(scripts: &[&str]) {
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    let commands: Vec<[&str; 3]> = scripts.iter().map(|script| ["EVAL", script, "0"]).collect();
    let commands: Vec<&[&str]> = commands.iter().map(|command| &command[..]).collect();
    assert_same_as_redis(&server, &redis, &commands);
}

/// cjson.encode: arrays, objects in Lua's key order, number formats, escapes, and its errors.
#[test]
fn cjson_encodes_as_redis_does() {
    same_as_redis(&[
        r#"return cjson.encode({1, 2, 3, {a = 1}})"#,
        r#"return cjson.encode('a/b"\\' .. string.char(1, 8, 9, 10, 12, 13, 31, 127, 200))"#,
        r#"return cjson.encode({1/3, -0.0, 1e300, 123456789012345, 0.1, -2.5e-7, 100})"#,
        r#"return cjson.encode({[1] = 1, [3] = 3})"#,
        r#"return cjson.encode({[1] = 1, [30] = 3})"#,
        r#"return cjson.encode({})"#,
        r#"return cjson.encode({a = {}, b = {{}}})"#,
        r#"return cjson.encode({name = 'x', list = {1, 2}, nested = {deep = {deeper = true}}, flag = false})"#,
        r#"return cjson.encode({[1] = 'a', [2] = 'b', x = 'c'})"#,
        r#"return cjson.encode({[1.5] = 'a'})"#,
        r#"return cjson.encode({[-1] = 'a'})"#,
        r#"return cjson.encode({[1e10] = 'a'})"#,
        r#"return cjson.encode(cjson.null)"#,
        r#"return cjson.encode({cjson.null, 1})"#,
        r#"return cjson.encode(nil)"#,
        r#"return cjson.encode(true)"#,
        r#"return cjson.encode('')"#,
        r#"return cjson.encode(42)"#,
        r#"return cjson.encode(function() end)"#,
        r#"return cjson.encode()"#,
        r#"return cjson.encode(1, 2)"#,
        r#"return cjson.encode({[true] = 1})"#,
        r#"return cjson.encode({[{}] = 1})"#,
        r#"return cjson.encode(0/0)"#,
        r#"return cjson.encode(1/0)"#,
        r#"return cjson.encode({a = 1/0})"#,
        r#"return cjson.encode({[1/0] = 1})"#,
        r#"local t = {} t[1] = t return cjson.encode(t)"#,
        r#"local t = {} t.a = t return cjson.encode(t)"#,
        r#"return cjson.encode(coroutine.create(function() end))"#,
        r#"local ok, e = pcall(cjson.encode, function() end) return e"#,
        r#"return cjson.encode({[1]=1,[2]=2,[3]=3,[4]=4,[5]=5,[6]=6,[7]=7,[8]=8,[9]=9,[10]=10,[20]=20})"#,
        r#"return cjson.encode({[11]=1})"#,
        r#"return cjson.encode({[10]=1})"#,
        r#"return cjson.encode(string.rep('x', 300))"#,
        r#"return cjson.encode({1e15, 1e16, 1e-5, 123.456, 2^53, -1e-300, 5e-324, 1.7976931348623157e308, 0.1 + 0.2})"#,
        r#"return cjson.encode({[1] = 1, [2.5] = 2})"#,
        r#"return cjson.encode(cjson.decode('[1,null,null,4]'))"#,
        r#"return cjson.encode(cjson.decode('[null]'))"#,
        r#"return cjson.encode(cjson.decode('{"a":null}'))"#,
        r#"return cjson:encode()"#,
        r#"return cjson.encode({a = {b = {c = {d = {e = {f = {g = 'deep'}}}}}}})"#,
        r#"return cjson.encode(string.char(0xe9, 0x80, 0x80, 0xff))"#,
        r#"return cjson.encode(cjson.decode('[]'))"#,
        r#"return cjson.encode(cjson.decode('{}'))"#,
        r#"local big = {} for i = 1, 1000 do big[i] = {id = i, name = 'n' .. i} end local s = cjson.encode(big) return {#s, redis.sha1hex(s), #cjson.decode(s)}"#,
        r#"return type(cjson) .. type(cmsgpack) .. type(bit) .. type(struct)"#,
    ]);
}

/// cjson.decode: values, escapes, strtod's numbers, depth limits and every kind of syntax error.
#[test]
fn cjson_decodes_as_redis_does() {
    same_as_redis(&[
        r#"return cjson.decode('[1,2')"#,
        r#"return cjson.decode('x')"#,
        r#"local ok, e = pcall(cjson.decode, 'x') return e"#,
        r#"return cjson.decode('{"a":1')"#,
        r#"return cjson.decode('[1,2,3]')"#,
        r#"return cjson.decode('{"a":{"b":[1,"two",true,false,null]}}').a.b"#,
        r#"return type(cjson.decode('null'))"#,
        r#"return cjson.decode('null') == cjson.null"#,
        r#"return tostring(cjson.null)"#,
        r#"return tostring(cjson.decode('[null]')[1])"#,
        r#"return tostring()"#,
        // Addresses differ from server to server: their shape is compared.
        r#"return {(tostring({}):gsub('0x%x+', 'ADDRESS')), (tostring(cjson):gsub('0x%x+', 'ADDRESS')), (tostring(cjson.encode):gsub('0x%x+', 'ADDRESS'))}"#,
        // The libraries' read-only tables have no array part, here or in Redis.
        r#"return {#cjson, #cmsgpack, #string, #redis, #_G, select('#', unpack(cjson)), select('#', unpack(KEYS))}"#,
        r#"return cjson.decode('"a\\u00e9\\ud83d\\ude00\\n\\/\\\\"')"#,
        r#"return cjson.decode('"\\ud800"')"#,
        r#"return cjson.decode('"\\udc00"')"#,
        r#"return cjson.decode('"\\u12"')"#,
        r#"return cjson.decode('"\\x"')"#,
        r#"return cjson.decode('"abc')"#,
        r#"return cjson.decode('  12.5  ')"#,
        r#"return tostring(cjson.decode('1e400'))"#,
        r#"return tostring(cjson.decode('-1.5e-3'))"#,
        r#"return cjson.decode('+1')"#,
        r#"return cjson.decode('0x10')"#,
        r#"return cjson.decode('01')"#,
        r#"return tostring(cjson.decode('nan'))"#,
        r#"return tostring(cjson.decode('-Infinity'))"#,
        r#"return tostring(cjson.decode('inf'))"#,
        r#"return cjson.decode('infx')"#,
        r#"return cjson.decode('tru')"#,
        r#"return cjson.decode('nul')"#,
        r#"return cjson.decode('')"#,
        r#"return cjson.decode('   ')"#,
        r#"return cjson.decode('[1,]')"#,
        r#"return cjson.decode('[,1]')"#,
        r#"return cjson.decode('{"a" 1}')"#,
        r#"return cjson.decode('{1:1}')"#,
        r#"return cjson.decode('{"a":1,}')"#,
        r#"return cjson.decode('{"a":1 "b":2}')"#,
        r#"return cjson.decode('[1 2]')"#,
        r#"return cjson.decode('[1] x')"#,
        r#"return cjson.decode('1 2')"#,
        r#"return cjson.decode('-')"#,
        r#"return cjson.decode('1.5e')"#,
        r#"return cjson.decode('a' .. string.char(0) .. 'b')"#,
        r#"return cjson.decode('12' .. string.char(0) .. 'x')"#,
        r#"return cjson.decode(123)"#,
        r#"return cjson.decode({})"#,
        r#"return cjson.decode()"#,
        r#"return cjson.decode('1', '2')"#,
        r#"return cjson.decode(string.rep('[', 1001))"#,
        r#"return cjson.decode(string.rep('[', 1000) .. string.rep(']', 1000)) ~= nil"#,
        r#"return cjson.decode(string.rep('{"a":', 1001))"#,
        r#"return cjson.decode('[' .. string.char(200) .. ']')"#,
        r#"return cjson.decode('"' .. string.char(1, 2, 200) .. '"')"#,
        r#"return cjson.decode('[-' .. string.char(200) .. ']')"#,
        r#"return cjson.decode('{"b":1,"a":2,"c":{"z":1,"y":2}}').c.y"#,
        r#"return {tostring(cjson.decode('1E5')), tostring(cjson.decode('-0')), tostring(cjson.decode('1.0')), tostring(cjson.decode('2.5E-3'))}"#,
        r#"return cjson.decode('[1,null,3]')"#,
        r#"return cjson.decode('"\\u0000"'):len()"#,
        r#"return cjson.decode('"\\u0041\\u00FF\\u0800\\uFFFF"')"#,
        r#"return cjson.decode('"\\ud83d\\u0041"')"#,
        r#"return cjson.decode('"\\ud83dx"')"#,
        r#"return cjson.decode('{"a":1,"a":2}').a"#,
        r#"return cjson.decode('[]')"#,
        r#"return cjson.decode('{"":""}')['']"#,
        r#"return cjson.decode(' \t\r\n[ 1 , 2 ] \n')"#,
        r#"return cjson.decode('[1]\f')"#,
        r#"return cjson.decode('\v1')"#,
        r#"return cjson.decode('tRue')"#,
        r#"return cjson.decode('"abc"x')"#,
        r#"return cjson.decode('Infinity')"#,
        r#"return cjson.decode('-nan')"#,
        r#"return cjson.decode('1e')"#,
        r#"return cjson.decode('1e+')"#,
        r#"return cjson.decode('.5')"#,
        r#"return cjson.decode('-.5')"#,
        r#"return cjson.decode('5.')"#,
        r#"return {cjson.decode('[0x1p4, 0X1.8P1]')}"#,
        r#"return cjson.decode('{"a":[1,2,{"b":[true]}]}').a[3].b[1]"#,
    ]);
}

/// Decoded then encoded again: Lua 5.1's table order decides the keys' order, on both servers.
#[test]
fn cjson_round_trips_keep_lua_key_order() {
    same_as_redis(&[
        r#"return cjson.encode(cjson.decode('{"b":1,"a":2,"c":{"z":1,"y":2},"list":[1,2,{"k":"v"}]}'))"#,
        r#"return cjson.encode(cjson.decode(cjson.encode({user = 'u1', score = 12.5, tags = {'a', 'b'}, meta = {active = true, ratio = 0.25}})))"#,
        r#"local t = {} for i = 1, 50 do t['key' .. i] = i end return cjson.encode(t)"#,
        r#"local t = {} for i = 1, 50 do t['key' .. i] = i end return cjson.encode(cjson.decode(cjson.encode(t)))"#,
    ]);
}

/// The configuration functions, their argument errors, and `cjson.new()` tables with their own settings.
#[test]
fn cjson_settings_and_new_tables_behave_as_redis_does() {
    same_as_redis(&[
        r#"return {cjson.encode_sparse_array()}"#,
        r#"return cjson.encode_number_precision(20)"#,
        r#"return cjson.encode_number_precision(0)"#,
        r#"return cjson.encode_keep_buffer()"#,
        r#"return cjson.encode_invalid_numbers()"#,
        r#"return cjson.encode_max_depth(1, 2)"#,
        r#"return cjson.encode_invalid_numbers('x')"#,
        r#"return cjson.encode_invalid_numbers({})"#,
        r#"return cjson.encode_max_depth('x')"#,
        r#"return {cjson.encode_max_depth(), cjson.decode_max_depth(), cjson.encode_number_precision(), cjson.decode_invalid_numbers()}"#,
        r#"return {cjson.encode_sparse_array(nil, 3, 1)}"#,
        r#"return {cjson.encode_sparse_array(true, 0, 1)}"#,
        r#"return {cjson.encode_sparse_array(false, -1)}"#,
        r#"return {cjson.encode_sparse_array(1, 2, 3, 4)}"#,
        r#"local j = cjson.new() j.encode_sparse_array(true) return {j.encode({[1] = 1, [30] = 3}), cjson.encode_sparse_array()}"#,
        r#"local j = cjson.new() j.encode_number_precision(3) return {j.encode(3.14159), cjson.encode(3.14159)}"#,
        r#"local j = cjson.new() j.encode_invalid_numbers(true) return j.encode({1/0, -1/0, 0/0})"#,
        r#"local j = cjson.new() j.encode_invalid_numbers('null') return {j.encode({1/0, 0/0}), j.encode_invalid_numbers()}"#,
        r#"local j = cjson.new() j.encode_invalid_numbers('on') return j.encode_invalid_numbers()"#,
        r#"local j = cjson.new() j.decode_invalid_numbers(false) return j.decode('0x10')"#,
        r#"local j = cjson.new() j.decode_invalid_numbers(false) return j.decode('+1')"#,
        r#"local j = cjson.new() j.decode_invalid_numbers(false) return j.decode('nan')"#,
        r#"local j = cjson.new() j.decode_invalid_numbers(false) return j.decode('01')"#,
        r#"local j = cjson.new() j.decode_invalid_numbers('off') return {j.decode('[1.5]'), j.decode_invalid_numbers()}"#,
        r#"local j = cjson.new() j.encode_max_depth(2) return j.encode({{{1}}})"#,
        r#"local j = cjson.new() j.encode_max_depth(2) return j.encode({{1}})"#,
        r#"local j = cjson.new() j.decode_max_depth(2) return j.decode('[[[1]]]')"#,
        r#"local j = cjson.new() j.decode_max_depth(2) return j.decode('{"a":{"b":{}}}')"#,
        r#"local j = cjson.new() return {j._NAME, j._VERSION, type(j.null), type(j.new)}"#,
        r#"return {cjson._NAME, cjson._VERSION}"#,
        r#"local j = cjson.new() j.encode_sparse_array(true, 2^32 + 3, 1) return {j.encode_sparse_array()}"#,
    ]);
}

/// cmsgpack: the encodings chosen, streams, offsets and limits, nested tables, and bad input.
#[test]
fn cmsgpack_packs_and_unpacks_as_redis_does() {
    same_as_redis(&[
        r#"return cmsgpack.pack(1, -1, 200, -200, 70000, 1.5, 0.1, 'abc', {1, 2}, {a = 1}, true, false, nil, {})"#,
        r#"return cmsgpack.pack()"#,
        r#"return {cmsgpack.unpack(cmsgpack.pack(1, 'a', {1, {2}}))}"#,
        r#"return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3))}"#,
        r#"return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 1)}"#,
        r#"return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}"#,
        r#"return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 0)}"#,
        r#"return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 0, 1)}"#,
        r#"return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 5, 1)}"#,
        r#"return cmsgpack.unpack(string.char(0xc1))"#,
        r#"return cmsgpack.unpack(string.char(0x92, 1))"#,
        r#"return cmsgpack.unpack(string.char(0xcf, 255, 255, 255, 255, 255, 255, 255, 255))"#,
        r#"return cmsgpack.unpack(string.char(0xcf, 0, 0, 0, 1, 0, 0, 0, 0))"#,
        r#"return cmsgpack.unpack(string.char(0xd3, 255, 255, 255, 255, 255, 255, 255, 254))"#,
        r#"return {cmsgpack.unpack(string.char(0xd0, 0x80, 0xd1, 0x80, 0, 0xd2, 0x80, 0, 0, 0, 0xcc, 0xff, 0xcd, 0xff, 0xff, 0xce, 0xff, 0xff, 0xff, 0xff))}"#,
        r#"return cmsgpack.unpack(string.char(0xc4, 1, 65))"#,
        r#"return cmsgpack.unpack(string.char(0xd4, 1, 65))"#,
        r#"return cmsgpack.unpack(string.char(0x81, 0xc0, 1))"#,
        r#"return {cmsgpack.unpack(string.char(0x81, 1, 0xc0))}"#,
        r#"return {cmsgpack.unpack(string.char(0x92, 1, 0xc0))}"#,
        r#"return {cmsgpack.unpack(string.char(0x93, 0xc0, 1, 2))}"#,
        r#"return tostring(cmsgpack.unpack(string.char(0xca, 0x3f, 0xc0, 0, 0)))"#,
        r#"return tostring(cmsgpack.unpack(string.char(0xcb, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a)))"#,
        r#"return {cmsgpack.unpack_limit('a', 1, 1)}"#,
        r#"return {cmsgpack.unpack_limit('ab', 1, 1)}"#,
        r#"return {cmsgpack.unpack_limit('ab', -1)}"#,
        r#"return {cmsgpack.unpack_limit('ab')}"#,
        r#"return {cmsgpack.unpack_one('ab', 'x')}"#,
        r#"return {cmsgpack.unpack_one('ab', 1.7)}"#,
        r#"return cmsgpack.unpack_one('a', -1)"#,
        r#"return cmsgpack.unpack_one('a', 5)"#,
        r#"return {cmsgpack.unpack(12)}"#,
        r#"return cmsgpack.unpack({})"#,
        r#"return cmsgpack.unpack()"#,
        r#"return {cmsgpack.unpack('')}"#,
        r#"return {cmsgpack.unpack_one('')}"#,
        r#"return cmsgpack.unpack(string.char(0xd9, 1))"#,
        r#"return cmsgpack.unpack(string.char(0xdb, 0, 0, 0, 1, 65))"#,
        r#"return cmsgpack.unpack(string.char(0xda, 0, 2, 65))"#,
        r#"return cmsgpack.pack(string.rep('a', 31), string.rep('a', 32), string.rep('b', 300), string.rep('c', 70000)):len()"#,
        r#"return redis.sha1hex(cmsgpack.pack(string.rep('a', 31), string.rep('a', 32), string.rep('b', 255), string.rep('b', 256), string.rep('c', 65535), string.rep('c', 65536)))"#,
        r#"return cmsgpack.pack(2^63, -2^63, 2^64, 1e10, -1e10, 3.0e38, 1/0, -1/0, 2^31, -2^31, -2^31 - 1, 65535, 65536, -32768, -32769, -128, -129, -32, -33, 127, 128, 255, 256)"#,
        r#"local t = {} t[1] = t return cmsgpack.pack(t)"#,
        r#"local t = {} t.a = t return cmsgpack.pack(t)"#,
        r#"return cmsgpack.pack({[1] = 1, [3] = 3})"#,
        r#"return cmsgpack.pack({[1] = 'a', [2] = 'b', x = 'c'})"#,
        r#"return cmsgpack.pack({[1.5] = 1})"#,
        r#"return cmsgpack.pack({[0] = 1})"#,
        r#"return cmsgpack.pack(function() end, cjson.null, coroutine.create(function() end))"#,
        r#"local t = {} for i = 1, 20 do t[i] = i end return cmsgpack.pack(t)"#,
        r#"local t = {} for i = 1, 20 do t['k' .. i] = i end return cmsgpack.pack(t)"#,
        r#"local t = {} for i = 1, 70000 do t[i] = i % 3 end return redis.sha1hex(cmsgpack.pack(t))"#,
        r#"local t = {} for i = 1, 70000 do t['k' .. i] = i end return redis.sha1hex(cmsgpack.pack(t))"#,
        r#"local t = {a = {b = {c = {1, 2, {d = 'e'}}}}, list = {1, 'two', 3.5, false}} return cmsgpack.pack(cmsgpack.unpack(cmsgpack.pack(t)))"#,
        r#"local t = {a = {b = {c = {1, 2, {d = 'e'}}}}, list = {1, 'two', 3.5, false}} local u = cmsgpack.unpack(cmsgpack.pack(t)) return {u.a.b.c[3].d, u.list[2], tostring(u.list[3]), tostring(u.list[4])}"#,
        r#"return #{cmsgpack.unpack(string.rep('a', 7999))}"#,
        r#"return #{cmsgpack.unpack(string.rep('a', 8000))}"#,
        r#"return #{cmsgpack.unpack(string.rep('a', 7999), 1)}"#,
        r#"return {cmsgpack.unpack(string.rep(string.char(0x91), 900) .. string.char(1))} ~= nil"#,
        r#"return {cmsgpack._NAME, cmsgpack._VERSION, cmsgpack._COPYRIGHT, cmsgpack._DESCRIPTION}"#,
        r#"return cmsgpack:unpack()"#,
        r#"return cmsgpack.pack(-1.5, 1e-45, 3.4028234663852886e38, -0.0, 0.0)"#,
        r#"return {cmsgpack.pack(0/0), cmsgpack.pack(-(0/0)), struct.pack('>d', 0/0)}"#,
        r#"local t = {} for i = 1, 16 do t['k' .. i] = i end return cmsgpack.pack(t)"#,
        r#"local t = {} for i = 1, 16 do t[i] = i end return cmsgpack.pack(t)"#,
        r#"local t = {} for i = 1, 15 do t[i] = i end return cmsgpack.pack(t)"#,
        r#"local big = {} for i = 1, 1000 do big[i] = {id = i, name = 'n' .. i} end local s = cmsgpack.pack(big) return {#s, redis.sha1hex(s), #cmsgpack.unpack(s)}"#,
    ]);
}

/// bit: LuaBitOp's 32-bit normalisation, each operation, and its argument errors.
#[test]
fn bit_operations_are_luabitops() {
    same_as_redis(&[
        r#"return {bit.tobit(2^32 + 5), bit.tobit(-1), bit.tobit(2^31), bit.tobit(1.5), bit.tobit(2.5), bit.tobit(-2.5), bit.tobit(2^53)}"#,
        r#"return {bit.tohex(255), bit.tohex(-1), bit.tohex(255, 2), bit.tohex(255, -4), bit.tohex(1, 0), bit.tohex(1, 9), bit.tohex(1, -9), bit.tohex(255, 2^31)}"#,
        r#"return {bit.bnot(0), bit.band(7, 3, 1), bit.bor(1, 2, 4), bit.bxor(5, 1), bit.lshift(1, 31), bit.lshift(1, 32), bit.rshift(-1, 28), bit.arshift(-256, 4), bit.rol(0x12345678, 8), bit.ror(0x12345678, 8), bit.bswap(0x12345678)}"#,
        r#"return bit.band()"#,
        r#"return bit.band('x')"#,
        r#"return bit.bor(1, 'x', {})"#,
        r#"return bit.band('3', '5')"#,
        r#"return bit.tobit(1/0)"#,
        r#"return bit.tobit(0/0)"#,
        r#"return bit.tobit()"#,
        r#"return bit.tohex('a')"#,
        r#"return bit.tobit(-2^31 - 0.5)"#,
        r#"return bit.tobit(4294967295.5)"#,
        r#"return bit.lshift(1, 33.7)"#,
        r#"return {bit.lshift(1), bit.tohex(1, nil)}"#,
        r#"local ok, e = pcall(bit.tohex, 'a') return e"#,
        r#"return {bit.bor(), 1}"#,
        r#"return bit.bswap(-1)"#,
        r#"return {bit.rol(1, -1), bit.ror(1, -1), bit.arshift(2^31, 31), bit.rshift(2^31, 31)}"#,
        r#"return bit:band(1)"#,
        r#"return {bit.tobit('0x10'), bit.tobit(' 12 '), bit.tobit('1e3')}"#,
        r#"return bit.tobit('12x')"#,
        r#"return bit.band(1, nil)"#,
        r#"return bit.tohex(1, 'x')"#,
        r#"return bit.bswap(0x80000000)"#,
        r#"return {bit.tobit(-0.5), bit.tobit(0.5), bit.tobit(-1.5), bit.tobit(2^52), bit.tobit(-2^52), bit.tobit(2^51 + 0.5)}"#,
    ]);
}

/// struct: every format option, alignment, endianness, and the library's errors.
#[test]
fn struct_packs_and_unpacks_as_redis_does() {
    same_as_redis(&[
        r#"return {struct.pack('>L', 2^64), struct.pack('>L', 0/0), struct.pack('>l', -2^70), struct.pack('>L', 2^63), struct.pack('>l', 2^63), struct.pack('<i', -1.7), struct.pack('>I16', -2)}"#,
        r#"return {struct.unpack('>i16', string.rep(string.char(255), 16))}"#,
        r#"return {struct.unpack('>i9', string.rep(string.char(255), 9))}"#,
        r#"return {struct.unpack('>i9', string.char(0, 0, 0, 0, 0, 0, 0, 0, 128))}"#,
        r#"return struct.pack('z')"#,
        r#"return struct.pack('c3', 'ab')"#,
        r#"return struct.pack('!3i')"#,
        r#"return struct.pack('i33')"#,
        r#"return struct.pack('i99999999999')"#,
        r#"return {struct.unpack('bc0', string.char(2) .. 'abc')}"#,
        r#"return {struct.unpack('c0', 'abc')}"#,
        r#"return struct.size('s')"#,
        r#"return struct.size('c0')"#,
        r#"return struct.size('c')"#,
        r#"return struct.size('z')"#,
        r#"return struct.size('%')"#,
        r#"return struct.size('!3')"#,
        r#"return {struct.unpack('s', 'abc')}"#,
        r#"return {struct.unpack('b', 'abc', 0)}"#,
        r#"return {struct.unpack('b', 'abc', 4)}"#,
        r#"return {struct.unpack('b', 'abc', 5)}"#,
        r#"return {struct.unpack('b', 'a', 2^63)}"#,
        r#"return {struct.unpack('b', 'a', -2^63)}"#,
        r#"return {struct.size('!bd'), struct.size('bd'), struct.size('!4bd'), struct.size('<!bhid'), struct.size('i2i4!i8'), struct.size('>!i')}"#,
        r#"return struct.pack()"#,
        r#"return struct.pack('i')"#,
        r#"return struct.pack('ii', 1)"#,
        r#"return struct.pack('iii', 1)"#,
        r#"return struct.pack('i', 'x')"#,
        r#"return {struct.pack('s', 'ab'), struct.pack('c0', 'abc'), struct.pack('>f', 1.5), struct.pack('<d', 0.1), struct.pack('bxh', 1, 2), struct.pack('>!4bi', 1, 2), struct.pack('!8bi3', 1, 2)}"#,
        r#"return {struct.unpack('>f', struct.pack('>f', 0.1))}"#,
        r#"return tostring(struct.unpack('>f', struct.pack('>f', 0.1)))"#,
        r#"return tostring(struct.unpack('<d', struct.pack('<d', 0.1)))"#,
        r#"return struct.pack('c0', 1.5)"#,
        r#"return struct.pack(12, 1)"#,
        r#"return {struct.unpack('b', 'abc', 'x')}"#,
        r#"return {struct.unpack('b', 'abc', 2.9)}"#,
        r#"return {struct.unpack('BbHhLlTIi', string.rep(string.char(200), 40))}"#,
        r#"return {struct.unpack('c1c0', '3abcd')}"#,
        r#"return {struct.unpack('bc0', string.char(255) .. 'abc')}"#,
        r#"return {struct.unpack('i3', 'abcdef')}"#,
        r#"return {struct.unpack('!4bi', 'abcdefgh')}"#,
        r#"return struct.pack('b', 300)"#,
        r#"return struct.pack('f', 'y')"#,
        r#"return {struct.unpack('x', '')}"#,
        r#"return {struct.unpack('', 'abc')}"#,
        r#"return struct.pack('c', '')"#,
        r#"return struct.unpack('i', {})"#,
        r#"return struct.pack(' <> ')"#,
        r#"return {struct.unpack('>I2 s b', struct.pack('>I2 s b', 513, 'hello', -3))}"#,
        r#"return {struct.unpack('z', 'abc')}"#,
        r#"return struct.pack('b' .. string.char(0) .. 'z', 1)"#,
        r#"return struct.pack('bb', 1, 2, 3)"#,
        r#"return #{struct.unpack(string.rep('b', 7997), string.rep('a', 8000))}"#,
        r#"return #{struct.unpack(string.rep('b', 7998), string.rep('a', 8000))}"#,
        r#"return struct.pack('d', 1e308 * 10)"#,
        r#"return struct.pack('>i0', 5)"#,
        r#"return {struct.unpack('>i0', 'abc')}"#,
        r#"return struct:pack()"#,
        r#"return {struct.unpack('<h', struct.pack('<h', -2))}"#,
        r#"return {struct.unpack('>d', struct.pack('>d', -1.25))}"#,
        r#"return struct.pack('<L>L', 1, 1)"#,
        r#"return struct.pack('b!2h!4i!8l', 1, 2, 3, 4)"#,
        r#"return struct.size('b!2h!4i!8l')"#,
        r#"return struct.size('!16d')"#,
        r#"return struct.size('!0d')"#,
        r#"return struct.pack('I3', 0x123456)"#,
        r#"return {struct.unpack('I3', struct.pack('I3', 0x123456))}"#,
        r#"return struct.pack('c2', 12345)"#,
        r#"return struct.pack('s', 'a' .. string.char(0) .. 'b')"#,
        r#"return {struct.unpack('s', 'ab' .. string.char(0) .. 'c' .. string.char(0))}"#,
        r#"return {struct.unpack('ss', 'ab' .. string.char(0) .. 'c' .. string.char(0))}"#,
        r#"return {struct.unpack('b', 'abc', 3)}"#,
        r#"return {struct.unpack('b', 'abc', nil)}"#,
        r#"return struct.pack('>' .. string.char(200))"#,
        r#"return struct.size('T' .. string.char(200))"#,
    ]);
}

/// A job queue and a token bucket as client libraries write them: state kept as JSON in keys,
/// decoded, changed and encoded again by scripts with keys and arguments.
#[test]
fn queue_and_rate_limiter_scripts_keep_json_state() {
    const ENQUEUE: &str = r#"
local job = {id = ARGV[1], attempts = 0, payload = cjson.decode(ARGV[2])}
redis.call('rpush', KEYS[1], cjson.encode(job))
return redis.call('llen', KEYS[1])"#;
    const TAKE: &str = r#"
local raw = redis.call('lpop', KEYS[1])
if not raw then return nil end
local job = cjson.decode(raw)
job.attempts = job.attempts + 1
job.taken_at = tonumber(ARGV[1])
redis.call('hset', KEYS[2], job.id, cjson.encode(job))
return {job.id, job.attempts, cjson.encode(job.payload)}"#;
    const BUCKET: &str = r#"
local capacity, refill, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('get', KEYS[1])
state = state and cjson.decode(state) or {tokens = capacity, ts = now}
local tokens = math.min(capacity, state.tokens + (now - state.ts) * refill)
local allowed = tokens >= 1
if allowed then tokens = tokens - 1 end
redis.call('set', KEYS[1], cjson.encode({tokens = tokens, ts = now}))
return {allowed and 1 or 0, tostring(tokens), redis.call('get', KEYS[1])}"#;
    let (server, redis) = (Server::start(&[]), Redis::start(&[]));
    assert_same_as_redis(&server, &redis, &[
        &["EVAL", ENQUEUE, "1", "jobs", "job-1", r#"{"to":"a@example.com","body":"hi/there","tags":["x","y"]}"#],
        &["EVAL", ENQUEUE, "1", "jobs", "job-2", r#"{"n":1.5,"none":null,"nested":{"deep":[1,2,3]}}"#],
        &["EVAL", ENQUEUE, "1", "jobs", "job-3", r#"{"broken":"#],
        &["EVAL", TAKE, "2", "jobs", "running", "1700000000"],
        &["EVAL", TAKE, "2", "jobs", "running", "1700000001"],
        &["EVAL", TAKE, "2", "jobs", "running", "1700000002"],
        &["HGET", "running", "job-1"],
        &["HGET", "running", "job-2"],
        &["EVAL", BUCKET, "1", "bucket", "3", "0.5", "100"],
        &["EVAL", BUCKET, "1", "bucket", "3", "0.5", "100"],
        &["EVAL", BUCKET, "1", "bucket", "3", "0.5", "100"],
        &["EVAL", BUCKET, "1", "bucket", "3", "0.5", "100.5"],
        &["EVAL", BUCKET, "1", "bucket", "3", "0.5", "101"],
        &["EVAL", BUCKET, "1", "bucket", "3", "0.5", "130"],
    ]);
}
