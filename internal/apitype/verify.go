package apitype

import "time"

// VerifyEmailRequest is POST /v1/auth/verify: the code emailed at
// registration.
type VerifyEmailRequest struct {
	Email       string `json:"email"`
	Code        string `json:"code"`
	DeviceLabel string `json:"device_label,omitempty"`
}

// VerifyEmailResult answers a verified registration: the account now
// exists and a session is open.
type VerifyEmailResult struct {
	Email         string    `json:"email"`
	Role          string    `json:"role"`
	Authenticated bool      `json:"authenticated"`
	Message       string    `json:"message"`
	Token         string    `json:"token,omitempty"`
	ExpiresAt     time.Time `json:"expires_at,omitzero"`
}

// ResendVerificationRequest is POST /v1/auth/resend-verification.
type ResendVerificationRequest struct {
	Email string `json:"email"`
}
