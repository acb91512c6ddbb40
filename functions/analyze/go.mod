module github.com/benchwrap/backend/functions/analyze

go 1.26.0

require (
	github.com/benchwrap/backend/shared v0.0.0
	github.com/openfaas/templates-sdk/go-http v0.0.0-20220408082716-5981c545cb03
)

replace github.com/benchwrap/backend/shared => ../../shared
