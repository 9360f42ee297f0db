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
	StreamSpecification struct {
		StreamViewType string `yaml:"StreamViewType"`
	} `yaml:"StreamSpecification"`
}

type keyElem struct {
	AttributeName string `yaml:"AttributeName"`
	KeyType       string `yaml:"KeyType"`
}

// CreateTableInputFromTemplate reads the table definition from a SAM template, so
// local and test tables can never drift from what is deployed. The stream is
// left out: EnableStream turns it on where something reads it (the local
// runner), so test tables do not keep every write twice in DynamoDB Local.
func CreateTableInputFromTemplate(templatePath, tableName string) (*dynamodb.CreateTableInput, string, error) {
	in, ttl, _, err := tableFromTemplate(templatePath, tableName)
	return in, ttl, err
}

func tableFromTemplate(templatePath, tableName string) (*dynamodb.CreateTableInput, string, string, error) {
	var tpl struct {
		Resources map[string]struct {
			Type       string    `yaml:"Type"`
			Properties yaml.Node `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := decode(templatePath, &tpl); err != nil {
		return nil, "", "", err
	}
	res, ok := tpl.Resources[TableResource]
	if !ok || res.Type != "AWS::DynamoDB::Table" {
		return nil, "", "", errors.New("template has no AWS::DynamoDB::Table named " + TableResource)
	}
	var p tableProps
	if err := res.Properties.Decode(&p); err != nil {
		return nil, "", "", fmt.Errorf("decode table: %w", err)
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
	return in, p.TimeToLiveSpecification.AttributeName, p.StreamSpecification.StreamViewType, nil
}

// EnableStream turns on the table's stream with the template's view type and
// returns the stream's ARN (DynamoDB Local serves DynamoDB Streams).
func EnableStream(ctx context.Context, db *dynamodb.Client, templatePath, tableName string) (string, error) {
	_, _, view, err := tableFromTemplate(templatePath, tableName)
	if err != nil {
		return "", err
	}
	if view == "" {
		return "", errors.New("the template's table has no StreamSpecification")
	}
	if _, err := db.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: aws.String(tableName),
		StreamSpecification: &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewType(view)}}); err != nil {
		return "", fmt.Errorf("enable stream: %w", err)
	}
	d, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(tableName)})
	if err != nil {
		return "", fmt.Errorf("describe table: %w", err)
	}
	return aws.ToString(d.Table.LatestStreamArn), nil
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
