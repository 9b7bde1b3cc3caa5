// The central console's pages, a file each; importing a page registers
// its routes (src/router.ts register). The order is the navigation's.
import "./overview";
import "./tenants";
import "./tenant-create";
import "./tenant-detail";
import "./migrations";
import "./servers";
import "./server-detail";
import "./admins";
import "./audit";
