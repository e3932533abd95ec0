package security_test

import (
	"fmt"

	"github.com/airsstack/airssys-wasm-go/security"
)

// A manifest asks; the policy grants or lists everything it refuses.
func ExampleAdmit() {
	policy, _ := security.ParsePolicy("policy.toml", []byte(`
[trust.unknown]
send = ["payments/*/*"]
publish = ["billing.>"]
`))
	manifest := []byte(`
[component]
name = "billing"
version = "1.0.0"
[resources]
memory = "16MiB"
[capabilities]
env = ["HOME"]
[capabilities.messaging]
send = ["payments/gateway/1", "ledger/main/1"]
publish = ["billing.invoices"]
`)
	_, err := security.Admit(policy, []byte("component bytes"), manifest, "Component.toml", nil)
	fmt.Println(err)

	ok := []byte(`
[component]
name = "billing"
version = "1.0.0"
[resources]
memory = "16MiB"
[capabilities.messaging]
send = ["payments/gateway/1"]
`)
	adm, _ := security.Admit(policy, []byte("component bytes"), ok, "Component.toml", nil)
	fmt.Println(adm.Grants.Trust, adm.Grants.AllowSend("payments/gateway/1"), adm.Grants.AllowSend("ledger/main/1"))
	// Output:
	// security: billing (trust unknown) asks for what the policy does not grant:
	//   - env HOME
	//   - send to ledger/main/1
	// unknown true false
}
