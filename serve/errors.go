package serve

import (
	"encoding/json"
	"net/http"
)

// ErrorType is TEI's error_type: what kind of failure an error response
// reports. It also decides the status code, as in TEI.
type ErrorType string

// TEI's error types (serialised as TEI serialises them).
const (
	ErrUnhealthy  ErrorType = "Unhealthy"  // 503
	ErrBackend    ErrorType = "Backend"    // 424
	ErrOverloaded ErrorType = "Overloaded" // 429
	ErrValidation ErrorType = "Validation" // 422
	ErrTokenizer  ErrorType = "Tokenizer"  // 422
	ErrEmpty      ErrorType = "Empty"      // 400
)

// Status is the HTTP status TEI answers an error of this type with.
func (t ErrorType) Status() int {
	switch t {
	case ErrUnhealthy:
		return http.StatusServiceUnavailable
	case ErrBackend:
		return http.StatusFailedDependency
	case ErrOverloaded:
		return http.StatusTooManyRequests
	case ErrEmpty:
		return http.StatusBadRequest
	default:
		return http.StatusUnprocessableEntity
	}
}

// ErrorResponse is TEI's error body.
type ErrorResponse struct {
	Error     string    `json:"error"`
	ErrorType ErrorType `json:"error_type"`
}

// apiError is an error with the status and type it is answered with.
type apiError struct {
	status int
	typ    ErrorType
	msg    string
	// metric is the te_request_failure label ("validation", "overloaded", ...).
	metric string
}

func (e *apiError) Error() string { return e.msg }

func newError(typ ErrorType, metric, msg string) *apiError {
	return &apiError{status: typ.Status(), typ: typ, msg: msg, metric: metric}
}

// withStatus is e answered with another status than its type's (413 for
// an over-limit body, 504 for a timeout, 503 while shutting down).
func (e *apiError) withStatus(code int) *apiError {
	e.status = code
	return e
}

func validation(msg string) *apiError { return newError(ErrValidation, "validation", msg) }

func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.status, ErrorResponse{Error: e.msg, ErrorType: e.typ})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil { // only non-finite floats get here: a model gone wrong
		status = http.StatusFailedDependency
		b, _ = json.Marshal(ErrorResponse{Error: "the model produced a value JSON cannot carry: " + err.Error(), ErrorType: ErrBackend})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
