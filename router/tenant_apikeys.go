package router

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/silo-dev/silo/tenantdb"
)

type apiKeyView struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Prefix      string     `json:"prefix"`
	Permissions []string   `json:"permissions"`
	CreatedAt   time.Time  `json:"createdAt"`
	ExpiresAt   *time.Time `json:"expiresAt"`
	LastUsedAt  *time.Time `json:"lastUsedAt"`
	Revoked     bool       `json:"revoked"`
}

func viewAPIKey(k *tenantdb.APIKey) apiKeyView {
	v := apiKeyView{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Permissions: k.PermissionList(),
		CreatedAt: k.CreatedAt, Revoked: k.RevokedAt.Valid}
	if k.ExpiresAt.Valid {
		v.ExpiresAt = &k.ExpiresAt.Time
	}
	if k.LastUsedAt.Valid {
		v.LastUsedAt = &k.LastUsedAt.Time
	}
	return v
}

type apiKeyRequest struct {
	Name        string     `json:"name" api:"required"`
	Permissions []string   `json:"permissions" api:"required"`
	ExpiresAt   *time.Time `json:"expiresAt"`
}

func (h *handlers) createAPIKey(c *gin.Context) {
	var in apiKeyRequest
	if err := Decode(c, &in); err != nil {
		Fail(c, err)
		return
	}
	k, raw, err := h.store(c).CreateAPIKey(c.Request.Context(), Caller(c), tenantdb.NewAPIKey(in))
	if err != nil {
		Fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, apiKeyAnswer{APIKey: viewAPIKey(k), Key: raw})
}

func (h *handlers) listAPIKeys(c *gin.Context) {
	keys, err := h.store(c).APIKeys(c.Request.Context())
	if err != nil {
		Fail(c, err)
		return
	}
	out := make([]apiKeyView, 0, len(keys))
	for i := range keys {
		out = append(out, viewAPIKey(&keys[i]))
	}
	c.JSON(http.StatusOK, apiKeysAnswer{APIKeys: out})
}

func (h *handlers) revokeAPIKey(c *gin.Context) {
	if err := h.store(c).RevokeAPIKey(c.Request.Context(), Caller(c), c.Param("id")); err != nil {
		Fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
