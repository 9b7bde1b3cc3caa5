package router

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// healthz says the process is up; it touches nothing else.
func (h *handlers) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, statusAnswer{Status: "ok"})
}

// readyz says whether the central database answers.
func (h *handlers) readyz(c *gin.Context) {
	if err := h.central.Ping(c.Request.Context()); err != nil {
		Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, statusAnswer{Status: "ready"})
}
