package actor_test

import (
	"context"
	"fmt"
	"time"

	"github.com/airsstack/airssys-wasm-go/actor"
	"github.com/airsstack/airssys-wasm-go/engine"
)

// Deploy a component as an actor and ask it something.
func Example() {
	ctx := context.Background()
	eng, _ := engine.New(engine.Config{})
	defer eng.Close()
	echo, _ := eng.CompileFile(ctx, "../testdata/actor_echo.wasm")

	sys := actor.NewSystem(eng, actor.Options{})
	defer sys.Shutdown(ctx)
	if err := sys.Deploy(ctx, actor.Spec{ID: "demo/echo/1", Component: echo}); err != nil {
		panic(err)
	}
	reply, err := sys.Request(ctx, "demo/echo/1", []byte("hello"), "text/plain")
	fmt.Println(string(reply.Payload), err)
	// Output: hello <nil>
}

// A supervision tree: the counter keeps its state across messages; when
// the trapper crashes, one-for-all restarts both (fresh state).
func ExampleSystem_DeploySupervisor() {
	ctx := context.Background()
	eng, _ := engine.New(engine.Config{})
	defer eng.Close()
	counter, _ := eng.CompileFile(ctx, "../testdata/actor_counter.wasm")
	trapper, _ := eng.CompileFile(ctx, "../testdata/actor_trapper.wasm")

	events := make(chan actor.Event, 16)
	sys := actor.NewSystem(eng, actor.Options{Observer: func(e actor.Event) {
		if e.Kind == actor.EventRestarted {
			events <- e
		}
	}})
	defer sys.Shutdown(ctx)
	sys.DeploySupervisor(ctx, actor.SupervisorSpec{Name: "app", Strategy: actor.OneForAll,
		Children: []actor.Child{
			actor.Spec{ID: "app/counter/1", Component: counter},
			actor.Spec{ID: "app/trapper/1", Component: trapper},
		}})
	sys.Send(ctx, "app/counter/1", []byte("a"), "")
	sys.Send(ctx, "app/counter/1", []byte("b"), "")
	before, _ := sys.Request(ctx, "app/counter/1", []byte("get"), "")
	sys.Send(ctx, "app/trapper/1", []byte("trap"), "")
	for i := 0; i < 2; i++ { // both restarted
		select {
		case <-events:
		case <-time.After(10 * time.Second):
			fmt.Println("no restart")
			return
		}
	}
	after, _ := sys.Request(ctx, "app/counter/1", []byte("get"), "")
	fmt.Println(string(before.Payload))
	fmt.Println(string(after.Payload))
	// Output:
	// count=2 errors=0 last=0
	// count=0 errors=0 last=0
}
