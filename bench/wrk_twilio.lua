-- Signed Twilio webhook POSTs for wrk, read from the file bench_http.py writes:
-- one request a line, "<X-Twilio-Signature>\t<form body>". Each wrk thread takes
-- its own stripe of the lines, so no two requests repeat a MessageSid.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

function init(args)
  local path, stripes = args[1], tonumber(args[2])
  signatures, bodies = {}, {}
  local n = 0
  for line in io.lines(path) do
    if n % stripes == id then
      local signature, body = line:match("^([^\t]+)\t(.*)$")
      table.insert(signatures, signature)
      table.insert(bodies, body)
    end
    n = n + 1
  end
  next_request = 1
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

function request()
  local i = next_request
  if i > #bodies then
    i = 1 -- wrapped around: a replay, which the gateway must store once
  end
  next_request = i + 1
  wrk.headers["X-Twilio-Signature"] = signatures[i]
  return wrk.format(nil, nil, nil, bodies[i])
end
