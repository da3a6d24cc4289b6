package armsim

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// apiHeader carries the SDK operation name from a client in another
// process to the simulation (the SDK fakes dispatch on it).
const apiHeader = "X-Armsim-Api"

// Handler serves the simulation over HTTP, for clients built with
// RemoteClientOptions in another process (e.g. a k0rdentctl that a test
// runs and kills).
func (s *Sim) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api := r.Header.Get(apiHeader)
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		// Rebuild the request as the SDK client made it.
		u := *r.URL
		u.Scheme, u.Host = "https", "management.azure.com"
		req, err := http.NewRequestWithContext(context.WithValue(r.Context(), runtime.CtxAPINameKey{}, api), r.Method, u.String(), bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req.Header = r.Header.Clone()
		req.ContentLength = int64(len(body))
		resp, err := s.Do(req)
		if err != nil {
			resp = errorResponse(req, http.StatusInternalServerError, "ArmsimError", err.Error())
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	})
}

// RemoteClientOptions are options for ARM clients that reach a simulation
// served by Handler at baseURL (e.g. an httptest server's URL).
func RemoteClientOptions(baseURL string) (*arm.ClientOptions, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("armsim: %q is not a URL: %w", baseURL, err)
	}
	return &arm.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: &remote{base: u, client: &http.Client{}},
		Retry:     testRetry(),
	}}, nil
}

// remote sends a request to a simulation in another process, with the
// SDK operation name in a header.
type remote struct {
	base   *url.URL
	client *http.Client
}

func (t *remote) Do(req *http.Request) (*http.Response, error) {
	api, _ := req.Context().Value(runtime.CtxAPINameKey{}).(string)
	out := req.Clone(req.Context())
	out.URL.Scheme, out.URL.Host = t.base.Scheme, t.base.Host
	out.URL.Path = strings.TrimRight(t.base.Path, "/") + req.URL.Path
	out.Host = t.base.Host
	out.Header.Set(apiHeader, api)
	resp, err := t.client.Do(out)
	if resp != nil {
		// The SDK's pollers take their URL from the request: keep it the
		// one the client made.
		resp.Request = req
	}
	return resp, err
}
