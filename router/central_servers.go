package router

import (
	"database/sql"
	"encoding/json"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/internal/lib/apperr"
	"github.com/silo-dev/silo/provisioning"
)

// ServerView is a database server as the API (and the CLI's --json) shows
// it: never its DSN or password.
type ServerView struct {
	Name      string            `json:"name"`
	Host      string            `json:"host"`
	Status    string            `json:"status"`
	Capacity  int               `json:"capacity"`
	Labels    map[string]string `json:"labels"`
	Tenants   int               `json:"tenants"`
	Spares    int               `json:"spares"`
	Version   string            `json:"version"`
	LastError *string           `json:"lastError,omitempty"`
	ConnsMax  int               `json:"connsMax"`
	SparePool *int64            `json:"sparePool"`
	CheckedAt *time.Time        `json:"checkedAt"`
	CreatedAt time.Time         `json:"createdAt"`
	UpdatedAt time.Time         `json:"updatedAt"`
}

// ViewServer returns the API view of s.
func ViewServer(s *central.Server) ServerView {
	v := ServerView{
		Name: s.Name, Host: s.Addr, Status: s.Status, Capacity: s.Capacity, Labels: s.Labels,
		Tenants: s.Tenants, Spares: s.Spares, Version: s.Version, ConnsMax: s.ConnsMax,
		CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt,
	}
	if v.Labels == nil {
		v.Labels = map[string]string{}
	}
	if s.LastError.Valid && s.LastError.String != "" {
		v.LastError = &s.LastError.String
	}
	if s.SparePool.Valid {
		v.SparePool = &s.SparePool.Int64
	}
	if s.CheckedAt.Valid {
		v.CheckedAt = &s.CheckedAt.Time
	}
	return v
}

var errNoServerAdmin = apperr.New(apperr.Unavailable, "SERVERS_UNAVAILABLE", "The database-server registry is not available on this instance")

type addServerRequest struct {
	Name      string            `json:"name" api:"required"`
	DSN       string            `json:"dsn" api:"required"`
	Capacity  *int              `json:"capacity"`
	Labels    map[string]string `json:"labels"`
	ConnsMax  int               `json:"connsMax"`
	SparePool *int              `json:"sparePool"`
}

func (h *handlers) addServer(c *gin.Context) {
	if h.servers == nil {
		Fail(c, errNoServerAdmin)
		return
	}
	var in addServerRequest
	if err := Decode(c, &in); err != nil {
		Fail(c, err)
		return
	}
	s, err := h.servers.AddServer(c.Request.Context(), provisioning.NewServer(in))
	if err != nil {
		Fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, serverAnswer{Server: ViewServer(s)})
}

func (h *handlers) listServers(c *gin.Context) {
	if h.servers == nil {
		Fail(c, errNoServerAdmin)
		return
	}
	ss, err := h.servers.ListServers(c.Request.Context())
	if err != nil {
		Fail(c, err)
		return
	}
	out := make([]ServerView, 0, len(ss))
	for i := range ss {
		out = append(out, ViewServer(&ss[i]))
	}
	c.JSON(http.StatusOK, serversAnswer{Servers: out})
}

func (h *handlers) getServer(c *gin.Context) {
	if h.servers == nil {
		Fail(c, errNoServerAdmin)
		return
	}
	s, err := h.servers.GetServer(c.Request.Context(), c.Param("name"))
	h.answerServer(c, s, err)
}

type patchServerRequest struct {
	Status    *string            `json:"status" enum:"active,draining,disabled"`
	Capacity  *int               `json:"capacity"`
	Labels    *map[string]string `json:"labels"`
	DSN       *string            `json:"dsn"`
	ConnsMax  *int               `json:"connsMax"`
	SparePool json.RawMessage    `json:"sparePool" doc:"spare databases kept ready on this server; null: SILO_SPARE_POOL_SIZE"` // absent: unchanged; null: SILO_SPARE_POOL_SIZE
}

func (h *handlers) patchServer(c *gin.Context) {
	if h.servers == nil {
		Fail(c, errNoServerAdmin)
		return
	}
	var in patchServerRequest
	if err := Decode(c, &in); err != nil {
		Fail(c, err)
		return
	}
	p := provisioning.ServerPatch{Status: in.Status, Capacity: in.Capacity, Labels: in.Labels, DSN: in.DSN, ConnsMax: in.ConnsMax}
	if in.SparePool != nil {
		p.SparePool = &sql.NullInt64{}
		if string(in.SparePool) != "null" {
			var n int
			if err := json.Unmarshal(in.SparePool, &n); err != nil {
				Fail(c, apperr.Validation(apperr.FieldError{Field: "sparePool", Message: "must be an integer or null"}))
				return
			}
			*p.SparePool = sql.NullInt64{Int64: int64(n), Valid: true}
		}
	}
	s, err := h.servers.UpdateServer(c.Request.Context(), c.Param("name"), p)
	h.answerServer(c, s, err)
}

func (h *handlers) removeServer(c *gin.Context) {
	if h.servers == nil {
		Fail(c, errNoServerAdmin)
		return
	}
	if err := h.servers.RemoveServer(c.Request.Context(), c.Param("name")); err != nil {
		Fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (h *handlers) answerServer(c *gin.Context, s *central.Server, err error) {
	if err != nil {
		Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, serverAnswer{Server: ViewServer(s)})
}
