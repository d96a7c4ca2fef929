// Package apigw builds API Gateway HTTP API (payload v2) responses: JSON bodies and the
// product's error shape {"error": {"code": "...", "message": "..."}}.
package apigw

import (
	"encoding/json"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
)

// ErrorBody is the JSON error every route returns.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what was wrong; Field names the offending field when there is one.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// JSON answers status with v as a JSON body.
func JSON(status int, v any) events.APIGatewayV2HTTPResponse {
	b, err := json.Marshal(v)
	if err != nil {
		return Error(http.StatusInternalServerError, "internal", "internal error")
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers: map[string]string{
			"content-type":           "application/json",
			"cache-control":          "no-store",
			"x-content-type-options": "nosniff",
		},
		Body: string(b),
	}
}

// Error answers status with the product's error body. message must never carry
// internal error text.
func Error(status int, code, message string) events.APIGatewayV2HTTPResponse {
	return JSON(status, ErrorBody{Error: ErrorDetail{Code: code, Message: message}})
}

// FieldError answers 400 naming the offending field.
func FieldError(field, message string) events.APIGatewayV2HTTPResponse {
	return JSON(http.StatusBadRequest, ErrorBody{Error: ErrorDetail{Code: "invalid_field", Message: message, Field: field}})
}
