//! HTTP glue for lambda_http: JSON bodies, query parameters, responses, and errors rendered as {"error":{"message":…}}.
