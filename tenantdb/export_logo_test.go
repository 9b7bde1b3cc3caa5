package tenantdb

// ValidLogoURL exposes validLogoURL to the package's tests.
var ValidLogoURL = validLogoURL
