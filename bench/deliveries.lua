-- wrk script: POST each delivery of a pool file once (signature TAB body per line), thread by
-- thread a share of the pool; optionally paced (a delay in ms before each request of a connection);
-- answers counted by status; a JSON summary printed at the end (bench/common.py reads it).
-- Arguments after "--": pool file, number of threads, delay in ms.

local threads = {}
local counter = 0

function setup(thread)
   thread:set("id", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

local mine = {}
local next_one = 1
local gap = 0
statuses = {}
exhausted = 0

function init(args)
   local path, count = args[1], tonumber(args[2])
   gap = tonumber(args[3]) or 0
   local index = 0
   for line in io.lines(path) do
      if index % count == id then
         local tab = string.find(line, "\t", 1, true)
         table.insert(mine, {string.sub(line, 1, tab - 1), string.sub(line, tab + 1)})
      end
      index = index + 1
   end
end

function delay()
   return gap
end

function request()
   local delivery = mine[next_one]
   if delivery == nil then
      exhausted = 1
      wrk.thread:stop()
      delivery = mine[#mine]  -- a request must still be returned; it is a duplicate, answered 200
   end
   next_one = next_one + 1
   return wrk.format("POST", nil, {["Content-Type"] = "application/json", ["X-Spark-Signature"] = delivery[1]},
                     delivery[2])
end

function response(status, headers, body)
   local key = tostring(status)
   statuses[key] = (statuses[key] or 0) + 1
end

function done(summary, latency, requests)
   local counts, empty = {}, 0
   for _, thread in ipairs(threads) do
      for status, n in pairs(thread:get("statuses")) do
         counts[status] = (counts[status] or 0) + n
      end
      empty = empty + thread:get("exhausted")
   end
   local parts = {}
   for status, n in pairs(counts) do
      table.insert(parts, string.format('"%s":%d', status, n))
   end
   local errors = summary.errors
   io.write(string.format(
      '{"requests":%d,"duration_us":%d,"statuses":{%s},"p50_us":%d,"p99_us":%d,"max_us":%d,"errors":%d,"exhausted":%d}\n',
      summary.requests, summary.duration, table.concat(parts, ","), latency:percentile(50),
      latency:percentile(99), latency.max, errors.connect + errors.read + errors.write + errors.timeout, empty))
end
