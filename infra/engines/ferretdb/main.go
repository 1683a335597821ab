// Command ferretdb-bin runs FerretDB v1 (MongoDB wire protocol, SQLite backend) for local tests and CI.
//
// Embedding avoids the panic of `go install .../cmd/ferretdb` (FerretDB/FerretDB#2982): the version check only runs
// when FerretDB itself is the main module.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on")
	data := flag.String("data", ".engines/ferretdb-data", "directory for the SQLite files (created if missing)")
	flag.Parse()

	dir, err := filepath.Abs(*data)
	if err != nil {
		log.Fatal(err)
	}
	if err = os.MkdirAll(dir, 0o755); err != nil {
		log.Fatal(err)
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/", // must end with '/' and exist
	})
	if err != nil {
		log.Fatal(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	fmt.Printf("ferretdb listening on mongodb://%s/ (data %s)\n", *listen, dir)
	f.Run(ctx)
}
