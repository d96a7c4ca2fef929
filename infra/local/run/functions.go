package main

import (
	"github.com/kycbackend/kyc/infra/local/httpapi"
	"github.com/kycbackend/kyc/shared/compose"
)

// httpFunctions maps each function of template.yaml that serves HTTP API routes to the
// constructor its main.go uses. A function in the template without an entry here stops
// the runner, so local and deployed wiring cannot silently drift.
var httpFunctions = map[string]func(compose.Runtime) (httpapi.Handler, error){
	"WebhookFunction": func(rt compose.Runtime) (httpapi.Handler, error) {
		h, err := compose.IDWiseWebhook(rt)
		if err != nil {
			return nil, err
		}
		return h.Handle, nil
	},
}
