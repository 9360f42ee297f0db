package samtemplate

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"gopkg.in/yaml.v3"
)

// TableResource is the logical ID of the table in template.yaml.
const TableResource = "Table"

// tableProps is the subset of AWS::DynamoDB::Table properties the store relies on.
type tableProps struct {
	AttributeDefinitions []struct {
		AttributeName string `yaml:"AttributeName"`
		AttributeType string `yaml:"AttributeType"`
	} `yaml:"AttributeDefinitions"`
	KeySchema              []keyElem `yaml:"KeySchema"`
	GlobalSecondaryIndexes []struct {
		IndexName  string    `yaml:"IndexName"`
		KeySchema  []keyElem `yaml:"KeySchema"`
		Projection struct {
			ProjectionType string `yaml:"ProjectionType"`
		} `yaml:"Projection"`
	} `yaml:"GlobalSecondaryIndexes"`
	TimeToLiveSpecification struct {
		AttributeName string `yaml:"AttributeName"`
	} `yaml:"TimeToLiveSpecification"`
}

type keyElem struct {
	AttributeName string `yaml:"AttributeName"`
	KeyType       string `yaml:"KeyType"`
}

// CreateTableInputFromTemplate reads the table definition from a SAM template, so
// local and test tables can never drift from what is deployed.
func CreateTableInputFromTemplate(templatePath, tableName string) (*dynamodb.CreateTableInput, string, error) {
	var tpl struct {
		Resources map[string]struct {
			Type       string    `yaml:"Type"`
			Properties yaml.Node `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := decode(templatePath, &tpl); err != nil {
		return nil, "", err
	}
	res, ok := tpl.Resources[TableResource]
	if !ok || res.Type != "AWS::DynamoDB::Table" {
		return nil, "", errors.New("template has no AWS::DynamoDB::Table named " + TableResource)
	}
	var p tableProps
	if err := res.Properties.Decode(&p); err != nil {
		return nil, "", fmt.Errorf("decode table: %w", err)
	}
	in := &dynamodb.CreateTableInput{TableName: aws.String(tableName), BillingMode: types.BillingModePayPerRequest}
	for _, a := range p.AttributeDefinitions {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
			AttributeName: aws.String(a.AttributeName), AttributeType: types.ScalarAttributeType(a.AttributeType)})
	}
	in.KeySchema = keySchema(p.KeySchema)
	for _, g := range p.GlobalSecondaryIndexes {
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName: aws.String(g.IndexName), KeySchema: keySchema(g.KeySchema),
			Projection: &types.Projection{ProjectionType: types.ProjectionType(g.Projection.ProjectionType)},
		})
	}
	return in, p.TimeToLiveSpecification.AttributeName, nil
}

func keySchema(ks []keyElem) []types.KeySchemaElement {
	out := make([]types.KeySchemaElement, 0, len(ks))
	for _, k := range ks {
		out = append(out, types.KeySchemaElement{AttributeName: aws.String(k.AttributeName), KeyType: types.KeyType(k.KeyType)})
	}
	return out
}

// CreateTable creates tableName from the template (if it does not exist) and enables TTL.
func CreateTable(ctx context.Context, db *dynamodb.Client, templatePath, tableName string) error {
	in, ttlAttr, err := CreateTableInputFromTemplate(templatePath, tableName)
	if err != nil {
		return err
	}
	if _, err := db.CreateTable(ctx, in); err != nil {
		var inUse *types.ResourceInUseException
		if !errors.As(err, &inUse) {
			return fmt.Errorf("create table: %w", err)
		}
	}
	w := dynamodb.NewTableExistsWaiter(db)
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(tableName)}, 30e9); err != nil {
		return fmt.Errorf("wait for table: %w", err)
	}
	if ttlAttr != "" {
		_, _ = db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
			TableName:               aws.String(tableName),
			TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(ttlAttr), Enabled: aws.Bool(true)},
		}) // best effort: DynamoDB Local may not expire items; reads check expiry anyway
	}
	return nil
}
