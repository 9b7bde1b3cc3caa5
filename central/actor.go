package central

import "context"

// Actor is who performs a central mutation, for the audit log. The router
// puts it in the request context; the CLI uses a "cli" actor.
type Actor struct {
	Kind      string // "admin", "cli", "system" or "anonymous"
	ID        string
	Email     string
	RequestID string
	ClientIP  string
}

type actorKey struct{}

// WithActor returns ctx carrying a.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor in ctx, or a "system" actor.
func ActorFrom(ctx context.Context) Actor {
	if a, ok := ctx.Value(actorKey{}).(Actor); ok {
		return a
	}
	return Actor{Kind: "system"}
}
