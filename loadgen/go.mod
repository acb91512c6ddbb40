module github.com/benchwrap/backend/loadgen

go 1.26.0
