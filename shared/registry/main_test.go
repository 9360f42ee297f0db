package registry_test

import (
	"testing"

	"github.com/payrecon/payrecon/shared/local/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }
