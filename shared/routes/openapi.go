package routes

import _ "embed"

// OpenAPI is the OpenAPI 3.1 document of every route (auth, storage,
// results, health), served by the results function at /openapi.json.
// functions/results' tests validate live requests and answers against it.
//
//go:embed openapi.json
var OpenAPI []byte

// ParquetContentType is the media type of Parquet answers.
const ParquetContentType = "application/vnd.apache.parquet"
