//! One handler per HTTP route: parse the request, call a rule, respond. The function binaries run these; tests call them in-process with lambda_http requests.
