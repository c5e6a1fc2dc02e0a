package baton

import (
	"context"
	"fmt"
	"math"
	"time"

	batonv1 "github.com/baton-run/baton/sdks/go/gen/baton/v1"
)

// Role is what an API key may do, named as the server and the command line name it. The
// zero value means the server did not say (an audit entry of an anonymous caller, say).
type Role string

// Roles.
const (
	// RoleAdmin may do everything: definitions, keys, the audit log, and what every other
	// role may do.
	RoleAdmin Role = "admin"
	// RoleOperator starts and steers runs and schedules, and reads everything but keys and
	// the audit log.
	RoleOperator Role = "operator"
	// RoleWorker takes tasks and reports their results (the Work stream, polls, task
	// updates, lease extensions and task logs).
	RoleWorker Role = "worker"
	// RoleViewer reads and changes nothing.
	RoleViewer Role = "viewer"
)

var roleToWire = map[Role]batonv1.Role{
	RoleAdmin:    batonv1.Role_ROLE_ADMIN,
	RoleOperator: batonv1.Role_ROLE_OPERATOR,
	RoleWorker:   batonv1.Role_ROLE_WORKER,
	RoleViewer:   batonv1.Role_ROLE_VIEWER,
}

func roleOf(r batonv1.Role) Role {
	for role, w := range roleToWire {
		if w == r {
			return role
		}
	}
	return ""
}

// AuditOutcome says how an audited request ended.
type AuditOutcome string

// Audit outcomes.
const (
	// AuditOK is a request that was done.
	AuditOK AuditOutcome = "ok"
	// AuditDenied is a request refused for its credentials or its caller's role; nothing
	// was done.
	AuditDenied AuditOutcome = "denied"
	// AuditFailed is a request that was allowed but failed (not found, invalid, a wrong
	// state...).
	AuditFailed AuditOutcome = "failed"
)

var outcomeToWire = map[AuditOutcome]batonv1.AuditOutcome{
	AuditOK:     batonv1.AuditOutcome_AUDIT_OUTCOME_OK,
	AuditDenied: batonv1.AuditOutcome_AUDIT_OUTCOME_DENIED,
	AuditFailed: batonv1.AuditOutcome_AUDIT_OUTCOME_FAILED,
}

func auditOutcomeOf(o batonv1.AuditOutcome) AuditOutcome {
	for outcome, w := range outcomeToWire {
		if w == o {
			return outcome
		}
	}
	return ""
}

// APIKey is an API key as the server stores it; its secret is never sent back.
type APIKey struct {
	// ID is the key's public id: the bk_{id}_ part of the key, Conductor's keyId, and the
	// actor of the audit log.
	ID string
	// Name is the name given at creation.
	Name string
	// Role is what the key may do.
	Role Role
	// Created is when the key was made; CreatedBy the id of the key that made it, or
	// "bootstrap" for the one `baton auth bootstrap` made.
	Created   time.Time
	CreatedBy string
	// Revoked is when the key was revoked: the zero time while it is live.
	Revoked time.Time
}

func apiKeyOf(k *batonv1.ApiKey) *APIKey {
	if k == nil {
		return nil
	}
	return &APIKey{
		ID: k.GetId(), Name: k.GetName(), Role: roleOf(k.GetRole()),
		Created: timeOf(k.GetCreatedAt()), CreatedBy: k.GetCreatedBy(), Revoked: timeOf(k.GetRevokedAt()),
	}
}

// CreatedAPIKey is an API key just made, with its text, which the server shows only this
// once (it keeps a digest of the secret).
type CreatedAPIKey struct {
	APIKey
	// KeyText is the whole key, bk_{id}_{secret}: what [WithAPIKey] and BATON_API_KEY take.
	KeyText string
	// Secret is the secret part alone: Conductor's keySecret, whose keyId is ID.
	Secret string
}

// AuditEvent is one entry of the audit log: a request that changed something, or one that
// was refused. It never holds a secret or a request body.
type AuditEvent struct {
	// Seq is the entry's place in the log: later entries have larger ones.
	Seq uint64
	// Time is when the request was answered.
	Time time.Time
	// Actor is the caller's key id, or "anonymous" for a caller without credentials;
	// ActorName the key's name and Role its role, when known.
	Actor     string
	ActorName string
	Role      Role
	// Action is what was asked: the gRPC method (/baton.v1.WorkflowService/StartWorkflow)
	// or the HTTP method and path.
	Action string
	// Access is the kind of access it needed: public, read, operate, work, define or admin.
	Access string
	// Remote is the caller's address.
	Remote string
	// Outcome is how it ended; Status is the answer's status (a gRPC code name or an HTTP
	// status number) and Reason why it was refused or failed, when known.
	Outcome AuditOutcome
	Status  string
	Reason  string
}

func auditEventOf(e *batonv1.AuditEvent) AuditEvent {
	return AuditEvent{
		Seq: e.GetSeq(), Time: timeOf(e.GetTime()),
		Actor: e.GetActor(), ActorName: e.GetActorName(), Role: roleOf(e.GetRole()),
		Action: e.GetAction(), Access: e.GetAccess(), Remote: e.GetRemote(),
		Outcome: auditOutcomeOf(e.GetOutcome()), Status: e.GetStatus(), Reason: e.GetReason(),
	}
}

// AuditQuery filters the audit log ([Client.ListAuditEvents]). Empty fields match
// everything: the zero value asks for the newest 100 entries.
type AuditQuery struct {
	// Actor keeps the entries of one caller: a key id or a key's name, exactly.
	Actor string
	// Action keeps the entries whose action contains this text, case-insensitively (such
	// as "StartWorkflow").
	Action string
	// Outcome keeps the entries that ended so.
	Outcome AuditOutcome
	// Since keeps the entries at or after this time, Until those before it.
	Since time.Time
	Until time.Time
	// Before keeps the entries older than this Seq: pass the Seq of the last entry of a
	// page for the next page. 0 starts at the newest.
	Before uint64
	// Limit is the most entries to return, 1 to 1000; 0 means 100.
	Limit int
}

// CreateAPIKey makes an API key with a name (who or what uses it; at most 200 characters)
// and a role, and returns it with its text, shown only this once. An unknown role is an
// error before anything is sent. It needs the admin role when the server requires
// credentials.
func (c *Client) CreateAPIKey(ctx context.Context, name string, role Role) (*CreatedAPIKey, error) {
	w, ok := roleToWire[role]
	if !ok {
		return nil, fmt.Errorf("baton: unknown role %q (want admin, operator, worker or viewer)", role)
	}
	resp, err := c.admin.CreateApiKey(ctx, &batonv1.CreateApiKeyRequest{Name: name, Role: w})
	if err != nil {
		return nil, err
	}
	k := apiKeyOf(resp.GetKey())
	if k == nil {
		return nil, fmt.Errorf("baton: the server sent no key")
	}
	return &CreatedAPIKey{APIKey: *k, KeyText: resp.GetKeyText(), Secret: resp.GetSecret()}, nil
}

// ListAPIKeys lists every API key, revoked ones too, oldest first (never their secrets). It
// needs the admin role when the server requires credentials.
func (c *Client) ListAPIKeys(ctx context.Context) ([]*APIKey, error) {
	resp, err := c.admin.ListApiKeys(ctx, &batonv1.ListApiKeysRequest{})
	if err != nil {
		return nil, err
	}
	return mapEach(resp.GetKeys(), apiKeyOf), nil
}

// RevokeAPIKey revokes the API key with the given id and returns it as revoked: from then
// on the key, and every token made from it, is refused (UNAUTHENTICATED) on every new call
// or stream. Revoking a revoked key changes nothing; an unknown id gives NOT_FOUND. It needs
// the admin role when the server requires credentials.
func (c *Client) RevokeAPIKey(ctx context.Context, id string) (*APIKey, error) {
	resp, err := c.admin.RevokeApiKey(ctx, &batonv1.RevokeApiKeyRequest{Id: id})
	if err != nil {
		return nil, err
	}
	return apiKeyOf(resp.GetKey()), nil
}

// ListAuditEvents reads the audit log, newest first, filtered by q. The server writes each
// entry a few milliseconds after answering the request, so an entry for a call just made
// may not be there yet. An unknown outcome is an error before anything is sent. It needs
// the admin role when the server requires credentials.
func (c *Client) ListAuditEvents(ctx context.Context, q AuditQuery) ([]AuditEvent, error) {
	req := &batonv1.ListAuditEventsRequest{
		Actor: q.Actor, Action: q.Action, Since: timestampOf(q.Since), Until: timestampOf(q.Until),
		Before: q.Before,
		// Out-of-range limits stay out of range on the wire, for the server to refuse.
		Limit: int32(max(min(q.Limit, math.MaxInt32), math.MinInt32)),
	}
	if q.Outcome != "" {
		w, ok := outcomeToWire[q.Outcome]
		if !ok {
			return nil, fmt.Errorf("baton: unknown audit outcome %q (want ok, denied or failed)", q.Outcome)
		}
		req.Outcome = w
	}
	resp, err := c.admin.ListAuditEvents(ctx, req)
	if err != nil {
		return nil, err
	}
	return mapEach(resp.GetEvents(), auditEventOf), nil
}
