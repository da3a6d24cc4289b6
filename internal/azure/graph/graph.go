// Package graph is the little of Microsoft Graph k0rdentctl uses to manage
// a service principal: applications, service principals and their
// passwords. It goes through azcore's pipeline (retries, bearer token),
// not the (very large) Graph SDK.
package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// Endpoint is Microsoft Graph's v1.0 endpoint.
const Endpoint = "https://graph.microsoft.com/v1.0"

// Client calls Graph.
type Client struct {
	endpoint string
	pl       runtime.Pipeline
}

// New makes a client; endpoint "" is Endpoint, opts nil the defaults.
func New(cred azcore.TokenCredential, endpoint string, opts *azcore.ClientOptions) (*Client, error) {
	if endpoint == "" {
		endpoint = Endpoint
	}
	if opts == nil {
		opts = &azcore.ClientOptions{}
	}
	scope := "https://graph.microsoft.com/.default"
	pl := runtime.NewPipeline("k0rdentctl-graph", "v1", runtime.PipelineOptions{
		PerRetry: []policy.Policy{runtime.NewBearerTokenPolicy(cred, []string{scope}, nil)},
	}, opts)
	return &Client{endpoint: strings.TrimRight(endpoint, "/"), pl: pl}, nil
}

// Application is an app registration.
type Application struct {
	ID          string     `json:"id"`    // object id
	AppID       string     `json:"appId"` // client id
	DisplayName string     `json:"displayName"`
	Passwords   []Password `json:"passwordCredentials,omitempty"`
}

// ServicePrincipal is an application's identity in the tenant.
type ServicePrincipal struct {
	ID    string `json:"id"` // object id: what role assignments name
	AppID string `json:"appId"`
}

// Password is an application password; SecretText is only in the answer
// of AddPassword.
type Password struct {
	KeyID       string    `json:"keyId"`
	DisplayName string    `json:"displayName,omitempty"`
	EndDateTime time.Time `json:"endDateTime,omitempty"`
	SecretText  string    `json:"secretText,omitempty"`
}

// Error is a Graph error answer.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("Microsoft Graph answered %d %s: %s", e.Status, e.Code, e.Message)
}

// IsNotFound reports a 404.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

func (c *Client) do(ctx context.Context, method, path string, body, out any, want ...int) error {
	req, err := runtime.NewRequest(ctx, method, c.endpoint+path)
	if err != nil {
		return err
	}
	if body != nil {
		if err := runtime.MarshalAsJSON(req, body); err != nil {
			return err
		}
	}
	resp, err := c.pl.Do(req)
	if err != nil {
		return fmt.Errorf("calling Microsoft Graph %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	ok := false
	for _, w := range want {
		ok = ok || resp.StatusCode == w
	}
	if !ok {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		_ = json.Unmarshal(data, &e)
		return &Error{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("reading Microsoft Graph's answer to %s %s: %w", method, path, err)
		}
	}
	return nil
}

// findOne is the first object of a collection matching "field eq
// 'value'", or nil.
func findOne[T any](ctx context.Context, c *Client, collection, field, value string) (*T, error) {
	var out struct{ Value []T }
	q := url.QueryEscape(fmt.Sprintf("%s eq '%s'", field, strings.ReplaceAll(value, "'", "''")))
	if err := c.do(ctx, http.MethodGet, "/"+collection+"?$filter="+q, nil, &out, http.StatusOK); err != nil {
		return nil, err
	}
	if len(out.Value) == 0 {
		return nil, nil
	}
	return &out.Value[0], nil
}

// FindApplication is the application with this display name, or nil.
func (c *Client) FindApplication(ctx context.Context, displayName string) (*Application, error) {
	return findOne[Application](ctx, c, "applications", "displayName", displayName)
}

// CreateApplication registers an application.
func (c *Client) CreateApplication(ctx context.Context, displayName string) (*Application, error) {
	var out Application
	err := c.do(ctx, http.MethodPost, "/applications", map[string]string{"displayName": displayName}, &out, http.StatusCreated)
	return &out, err
}

// DeleteApplication deletes an application and its service principal
// (Entra ID keeps it soft-deleted for 30 days).
func (c *Client) DeleteApplication(ctx context.Context, objectID string) error {
	err := c.do(ctx, http.MethodDelete, "/applications/"+url.PathEscape(objectID), nil, nil, http.StatusNoContent)
	if IsNotFound(err) {
		return nil
	}
	return err
}

// FindServicePrincipal is the service principal of an application, or nil.
func (c *Client) FindServicePrincipal(ctx context.Context, appID string) (*ServicePrincipal, error) {
	return findOne[ServicePrincipal](ctx, c, "servicePrincipals", "appId", appID)
}

// CreateServicePrincipal makes the application's service principal.
func (c *Client) CreateServicePrincipal(ctx context.Context, appID string) (*ServicePrincipal, error) {
	var out ServicePrincipal
	err := c.do(ctx, http.MethodPost, "/servicePrincipals", map[string]string{"appId": appID}, &out, http.StatusCreated)
	return &out, err
}

// AddPassword adds a password to an application; the answer is the only
// place its SecretText ever appears.
func (c *Client) AddPassword(ctx context.Context, appObjectID, displayName string, end time.Time) (*Password, error) {
	body := map[string]any{"passwordCredential": map[string]any{"displayName": displayName, "endDateTime": end.UTC().Format(time.RFC3339)}}
	var out Password
	err := c.do(ctx, http.MethodPost, "/applications/"+url.PathEscape(appObjectID)+"/addPassword", body, &out, http.StatusOK)
	return &out, err
}

// RemovePassword removes a password of an application.
func (c *Client) RemovePassword(ctx context.Context, appObjectID, keyID string) error {
	return c.do(ctx, http.MethodPost, "/applications/"+url.PathEscape(appObjectID)+"/removePassword", map[string]string{"keyId": keyID}, nil, http.StatusNoContent, http.StatusOK)
}

// TenantID is the id of the tenant the credential signs in to (GET
// /organization).
func (c *Client) TenantID(ctx context.Context) (string, error) {
	var out struct{ Value []struct{ ID string } }
	if err := c.do(ctx, http.MethodGet, "/organization", nil, &out, http.StatusOK); err != nil {
		return "", err
	}
	if len(out.Value) == 0 || out.Value[0].ID == "" {
		return "", errors.New("Microsoft Graph named no organization for this sign-in; set azure.tenant_id")
	}
	return out.Value[0].ID, nil
}

// Application gets an application by object id, with its passwords'
// key ids (never their text).
func (c *Client) Application(ctx context.Context, objectID string) (*Application, error) {
	var out Application
	if err := c.do(ctx, http.MethodGet, "/applications/"+url.PathEscape(objectID), nil, &out, http.StatusOK); err != nil {
		return nil, err
	}
	return &out, nil
}
