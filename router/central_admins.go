package router

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/silo-dev/silo/central"
	"github.com/silo-dev/silo/internal/lib/apperr"
	"github.com/silo-dev/silo/internal/lib/page"
)

// PageLimit reads ?limit= (default 50, 1..200).
func PageLimit(c *gin.Context) (int, error) {
	raw := c.Query("limit")
	if raw == "" {
		return 50, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > 200 {
		return 0, apperr.Validation(apperr.FieldError{Field: "limit", Message: "must be a whole number from 1 to 200"})
	}
	return n, nil
}

func (h *handlers) listAdmins(c *gin.Context) {
	limit, err := PageLimit(c)
	if err != nil {
		Fail(c, err)
		return
	}
	admins, next, err := h.central.ListAdmins(c.Request.Context(), limit, c.Query("cursor"))
	if err != nil {
		Fail(c, err)
		return
	}
	out := make([]adminView, 0, len(admins))
	for i := range admins {
		out = append(out, viewAdmin(&admins[i]))
	}
	c.JSON(http.StatusOK, adminsAnswer{Admins: out, NextCursor: page.Next(next)})
}

func (h *handlers) getAdmin(c *gin.Context) {
	a, err := h.central.GetAdmin(c.Request.Context(), c.Param("id"))
	if err != nil {
		Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, adminAnswer{User: viewAdmin(a)})
}

type adminPatchRequest struct {
	FirstName *string `json:"firstName"`
	LastName  *string `json:"lastName"`
	Role      *string `json:"role" enum:"superadmin,admin"`
	IsActive  *bool   `json:"isActive"`
}

func (h *handlers) updateAdmin(c *gin.Context) {
	var in adminPatchRequest
	if err := Decode(c, &in); err != nil {
		Fail(c, err)
		return
	}
	a, err := h.central.UpdateAdmin(c.Request.Context(), c.Param("id"), central.AdminPatch(in))
	if err != nil {
		Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, adminAnswer{User: viewAdmin(a)})
}

func (h *handlers) deleteAdmin(c *gin.Context) {
	if err := h.central.DeleteAdmin(c.Request.Context(), c.Param("id")); err != nil {
		Fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
