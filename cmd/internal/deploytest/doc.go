// Package deploytest checks the deployment files against the code, with no
// cluster:
//
//   - ingress_test.go: deploy/ingress.yaml, read with ingress-nginx's
//     regex and rewrite-target semantics (Router), maps every original
//     route of shared/routes onto the right /function/<name> path and
//     nothing else;
//   - stack_test.go: stack.yml, the templates and deploy/knative agree;
//   - functions_test.go (build tag integration, run by make test): each
//     function, built from the template's main.go and started the way its
//     container starts it, answers its health paths and a real request
//     against real PostgreSQL and MinIO. With BENCHWRAP_BENCH_RUNS set it
//     also measures start-up time and idle memory (make bench-functions).
package deploytest
