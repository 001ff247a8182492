wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"client_id":"bench","task_type":"noop","capability_required":"bench:v1","input_data":{"n":1}}'
